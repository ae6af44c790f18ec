namespace TurboGen.Imaging;

/// <summary>
/// The Canny edge detector as OpenCV's <c>cv2.Canny(image, low, high)</c> runs it on an RGB image (what the ControlNet canny
/// annotator calls; aperture 3, L1 gradient): per pixel the 3×3 Sobel derivatives of each channel (borders replicated), keeping
/// the channel with the largest |dx|+|dy|; non-maximum suppression along the gradient direction quantised to 0°/45°/90°/135°
/// (tan 22.5° in 15-bit fixed point, strict on the preceding neighbour, as OpenCV); pixels above <c>high</c> are edges and pixels
/// above <c>low</c> joined to them through 8-connected chains are edges too (hysteresis). The output is white (255) edges on black,
/// as an RGB image with equal channels.
/// </summary>
public static class CannyEdges
{
    private const int Shift = 15;
    private const int Tg22 = 13573;   // (int)(tan(22.5°) · 2^15 + 0.5)

    /// <summary>Edge map of <paramref name="image"/> with hysteresis thresholds <paramref name="low"/> and <paramref name="high"/> (swapped if reversed; the ControlNet defaults are 100 and 200).</summary>
    public static RgbImage Detect(RgbImage image, double low = 100, double high = 200)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!double.IsFinite(low) || !double.IsFinite(high) || low < 0 || high < 0)
        {
            throw new InvalidRequestException("canny_thresholds", $"Canny thresholds must be finite and ≥ 0 (got {low} and {high}).");
        }
        if (low > high) (low, high) = (high, low);
        int lo = (int)Math.Floor(low), hi = (int)Math.Floor(high);
        int w = image.Width, h = image.Height;
        var (dx, dy, mag) = Gradients(image);
        var edges = Suppress(dx, dy, mag, w, h, lo, hi);
        var pixels = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++)
        {
            if (edges[i] != 2) continue;
            pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = 255;
        }
        return new RgbImage(w, h, pixels);
    }

    /// <summary>Sobel dx, dy of the channel with the largest L1 magnitude, and that magnitude, per pixel.</summary>
    private static (int[] Dx, int[] Dy, int[] Mag) Gradients(RgbImage image)
    {
        int w = image.Width, h = image.Height;
        byte[] p = image.Pixels;
        var dx = new int[w * h];
        var dy = new int[w * h];
        var mag = new int[w * h];
        for (int y = 0; y < h; y++)
        {
            int ym = Math.Max(y - 1, 0), yp = Math.Min(y + 1, h - 1);
            for (int x = 0; x < w; x++)
            {
                int xm = Math.Max(x - 1, 0), xp = Math.Min(x + 1, w - 1);
                int best = -1;
                for (int c = 0; c < 3; c++)
                {
                    int P(int yy, int xx) => p[(yy * w + xx) * 3 + c];
                    int gx = P(ym, xp) - P(ym, xm) + 2 * (P(y, xp) - P(y, xm)) + P(yp, xp) - P(yp, xm);
                    int gy = P(yp, xm) - P(ym, xm) + 2 * (P(yp, x) - P(ym, x)) + P(yp, xp) - P(ym, xp);
                    int m = Math.Abs(gx) + Math.Abs(gy);
                    if (m > best)
                    {
                        best = m;
                        dx[y * w + x] = gx;
                        dy[y * w + x] = gy;
                    }
                }
                mag[y * w + x] = best;
            }
        }
        return (dx, dy, mag);
    }

    /// <summary>Non-maximum suppression and hysteresis: 0 = no edge, 1 = weak candidate, 2 = edge.</summary>
    private static byte[] Suppress(int[] dx, int[] dy, int[] mag, int w, int h, int low, int high)
    {
        int M(int y, int x) => y < 0 || y >= h || x < 0 || x >= w ? 0 : mag[y * w + x];
        var state = new byte[w * h];
        var stack = new Stack<int>();
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x, m = mag[i];
                if (m <= low) continue;
                int xs = dx[i], ys = dy[i];
                long ax = Math.Abs(xs), ay = (long)Math.Abs(ys) << Shift;
                long tg22x = ax * Tg22;
                bool maximum;
                if (ay < tg22x)
                {
                    maximum = m > M(y, x - 1) && m >= M(y, x + 1);
                }
                else
                {
                    long tg67x = tg22x + (ax << (Shift + 1));
                    if (ay > tg67x)
                    {
                        maximum = m > M(y - 1, x) && m >= M(y + 1, x);
                    }
                    else
                    {
                        int s = (xs ^ ys) < 0 ? -1 : 1;
                        maximum = m > M(y - 1, x - s) && m > M(y + 1, x + s);
                    }
                }
                if (!maximum) continue;
                if (m > high)
                {
                    state[i] = 2;
                    stack.Push(i);
                }
                else
                {
                    state[i] = 1;
                }
            }
        }
        while (stack.Count > 0)
        {
            int i = stack.Pop(), y = i / w, x = i % w;
            for (int oy = -1; oy <= 1; oy++)
            {
                for (int ox = -1; ox <= 1; ox++)
                {
                    int ny = y + oy, nx = x + ox;
                    if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
                    int j = ny * w + nx;
                    if (state[j] != 1) continue;
                    state[j] = 2;
                    stack.Push(j);
                }
            }
        }
        return state;
    }
}
