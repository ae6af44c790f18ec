using System.Diagnostics;
using TurboGen.Imaging;

namespace TurboGen.Pipelines;

/// <summary>
/// "Only masked area at full resolution" (A1111's <c>inpaint_full_res</c>): the bounding box of the processed mask, grown by
/// the padding and then to the aspect ratio of the requested size (within the image), is cut out of the init image and the
/// mask, inpainted at the requested size, scaled back to the box and pasted into the init image through the processed mask.
/// The result has the init image's size.
/// </summary>
public static class InpaintCrop
{
    /// <summary>Runs <paramref name="request"/> (with a full-resolution mask) through <paramref name="pipeline"/> on the crop and pastes the result back.</summary>
    public static GenerationResult Generate(TurboPipeline pipeline, GenerationRequest request, int width, int height,
        IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var spec = request.Mask!;
        var image = request.InitImage!;
        byte[] mask = spec.Processed();
        var (x, y, w, h) = Region(mask, image.Width, image.Height, spec.Padding, width, height);
        var cropImage = Crop(image, x, y, w, h);
        byte[] cropMask = MaskOps.FromGrey(Crop(MaskOps.ToGrey(mask, image.Width, image.Height), x, y, w, h));
        var inner = request with
        {
            InitImage = cropImage,
            Mask = new InpaintMask(w, h, cropMask) { Fill = spec.Fill },
        };
        double prepareMs = sw.Elapsed.TotalMilliseconds;
        var result = pipeline.Generate(inner, progress, cancellationToken);
        if (result.Images.Count == 0) return result with { Request = request with { Seed = result.Request.Seed } };

        sw.Restart();
        var pasted = result.Images.Select(generated =>
        {
            var back = ImageOps.ResizeCover(generated, w, h);
            var full = new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone());
            var blended = MaskOps.Composite(back, cropImage, cropMask);
            for (int row = 0; row < h; row++)
            {
                Array.Copy(blended.Pixels, row * w * 3, full.Pixels, ((y + row) * image.Width + x) * 3, w * 3);
            }
            return full;
        }).ToList();
        result.Timings.Add("inpaint.crop", prepareMs + sw.Elapsed.TotalMilliseconds);
        return result with { Images = pasted, Width = image.Width, Height = image.Height, Request = request with { Seed = result.Request.Seed } };
    }

    /// <summary>
    /// The region (x, y, width, height) to inpaint: the bounding box of the mask's non-zero pixels (the whole image when there are
    /// none), grown by <paramref name="padding"/> on each side and clamped to the image, then grown along one axis to the aspect ratio
    /// <paramref name="targetWidth"/>:<paramref name="targetHeight"/> (shifted, then clamped, to stay inside the image).
    /// </summary>
    public static (int X, int Y, int Width, int Height) Region(byte[] mask, int imageWidth, int imageHeight, int padding, int targetWidth, int targetHeight)
    {
        int x1 = imageWidth, y1 = imageHeight, x2 = -1, y2 = -1;
        for (int yy = 0; yy < imageHeight; yy++)
        {
            for (int xx = 0; xx < imageWidth; xx++)
            {
                if (mask[yy * imageWidth + xx] == 0) continue;
                x1 = Math.Min(x1, xx); x2 = Math.Max(x2, xx);
                y1 = Math.Min(y1, yy); y2 = Math.Max(y2, yy);
            }
        }
        if (x2 < 0) return (0, 0, imageWidth, imageHeight);
        // Half-open box [x1, x2) × [y1, y2), padded and clamped.
        x1 = Math.Max(x1 - padding, 0); y1 = Math.Max(y1 - padding, 0);
        x2 = Math.Min(x2 + 1 + padding, imageWidth); y2 = Math.Min(y2 + 1 + padding, imageHeight);
        double ratio = (double)targetWidth / targetHeight;
        if ((double)(x2 - x1) / (y2 - y1) > ratio)
        {
            (y1, y2) = Grow(y1, y2, (int)((x2 - x1) / ratio) - (y2 - y1), imageHeight);
        }
        else
        {
            (x1, x2) = Grow(x1, x2, (int)((y2 - y1) * ratio) - (x2 - x1), imageWidth);
        }
        return (x1, y1, x2 - x1, y2 - y1);
    }

    /// <summary>Grows [a, b) by <paramref name="by"/> (half on each side), shifted back inside [0, limit) and clamped to it.</summary>
    private static (int, int) Grow(int a, int b, int by, int limit)
    {
        if (by <= 0) return (a, b);
        a -= by / 2;
        b += by - by / 2;
        if (b > limit) { a -= b - limit; b = limit; }
        if (a < 0) { b -= a; a = 0; }
        return (a, Math.Min(b, limit));
    }

    private static RgbImage Crop(RgbImage image, int x, int y, int w, int h)
    {
        var pixels = new byte[w * h * 3];
        for (int row = 0; row < h; row++)
        {
            Array.Copy(image.Pixels, ((y + row) * image.Width + x) * 3, pixels, row * w * 3, w * 3);
        }
        return new RgbImage(w, h, pixels);
    }
}
