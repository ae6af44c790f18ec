namespace TurboGen.Imaging;

/// <summary>
/// Control images from a drawn sketch, for scribble and lineart ControlNets (which expect white strokes on black): the sketch is
/// turned to grey (ITU-R 601 luma, as Pillow's "L"), inverted when it is dark strokes on a light background (asked, or detected
/// from a mean grey above 127), and for scribbles thresholded to pure black/white.
/// </summary>
public static class SketchOps
{
    /// <summary>Scribble: white strokes on black, binarised at <paramref name="threshold"/> (0–255) after the optional inversion.</summary>
    /// <param name="image">The sketch.</param>
    /// <param name="threshold">Grey level above which a pixel is a stroke (after inversion).</param>
    /// <param name="invert">True: invert; false: keep; null: invert when the sketch is mostly light.</param>
    public static RgbImage Scribble(RgbImage image, int threshold = 127, bool? invert = null)
    {
        if (threshold is < 0 or > 255) throw new InvalidRequestException("threshold", $"The scribble threshold must be 0–255 (got {threshold}).");
        var grey = Grey(image, invert);
        for (int i = 0; i < grey.Length; i++) grey[i] = grey[i] > threshold ? (byte)255 : (byte)0;
        return FromGrey(grey, image.Width, image.Height);
    }

    /// <summary>Lineart: the grey sketch with its anti-aliasing kept, white lines on black (inverted when drawn dark on light).</summary>
    public static RgbImage Lineart(RgbImage image, bool? invert = null) => FromGrey(Grey(image, invert), image.Width, image.Height);

    private static byte[] Grey(RgbImage image, bool? invert)
    {
        ArgumentNullException.ThrowIfNull(image);
        int n = image.Width * image.Height;
        var grey = new byte[n];
        long sum = 0;
        for (int i = 0; i < n; i++)
        {
            // Pillow's RGB → L: (R·299 + G·587 + B·114) / 1000, rounded.
            int r = image.Pixels[3 * i], g = image.Pixels[3 * i + 1], b = image.Pixels[3 * i + 2];
            grey[i] = (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
            sum += grey[i];
        }
        if (invert ?? sum > 127L * n)
        {
            for (int i = 0; i < n; i++) grey[i] = (byte)(255 - grey[i]);
        }
        return grey;
    }

    private static RgbImage FromGrey(byte[] grey, int w, int h)
    {
        var pixels = new byte[grey.Length * 3];
        for (int i = 0; i < grey.Length; i++) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = grey[i];
        return new RgbImage(w, h, pixels);
    }
}
