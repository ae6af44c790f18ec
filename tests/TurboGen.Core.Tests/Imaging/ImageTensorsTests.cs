using TurboGen.Imaging;

namespace TurboGen.Core.Tests.Imaging;

public class ImageTensorsTests
{
    [Fact]
    public void FromNchw_MinusOneToOne_ClampsAndRoundsHalfToEven()
    {
        // 3×1 image; planes R, G, B.
        float[] chw =
        [
            -1f, 1f, 0f,          // R: 0, 255, 127.5 → 128
            2f, -7f, 0.5f,        // G: clamped 255, clamped 0, 0.75·255 = 191.25 → 191
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, // B: 255, 0, NaN → 0
        ];

        RgbImage image = ImageTensors.FromNchw(chw, 3, 1, ImageRange.MinusOneToOne);

        Assert.Equal(new byte[] { 0, 255, 255, 255, 0, 0, 128, 191, 0 }, image.Pixels);
    }

    [Fact]
    public void FromNchw_ZeroToOne_RoundsTiesToEven()
    {
        float twoAndHalf = 2.5f / 255f;
        float threeAndHalf = 3.5f / 255f;
        Assert.Equal(2.5f, twoAndHalf * 255f);   // preconditions: exact ties in float32
        Assert.Equal(3.5f, threeAndHalf * 255f);
        float[] chw = [twoAndHalf, threeAndHalf, -0.1f, 1.2f, 0.5f, 1f];

        RgbImage image = ImageTensors.FromNchw(chw, 2, 1, ImageRange.ZeroToOne);

        // pixel 0 = (R 2.5→2, G -0.1→0, B 0.5→127.5→128); pixel 1 = (R 3.5→4, G 1.2→255, B 255)
        Assert.Equal(new byte[] { 2, 0, 128, 4, 255, 255 }, image.Pixels);
    }

    [Fact]
    public void ToNchw_WritesPlanarNormalizedValues()
    {
        var image = new RgbImage(2, 1, [0, 51, 255, 102, 204, 153]);
        var chw = new float[6];

        ImageTensors.ToNchw(image, chw);
        Assert.Equal([-1f, 2f * (102 / 255f) - 1f, 2f * (51 / 255f) - 1f, 2f * (204 / 255f) - 1f, 1f, 2f * (153 / 255f) - 1f], chw);

        ImageTensors.ToNchw(image, chw, minusOneToOne: false);
        Assert.Equal([0f, 0.4f, 0.2f, 0.8f, 1f, 0.6f], chw);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ToNchw_FromNchw_RoundTripsEveryByte(bool minusOneToOne)
    {
        RgbImage image = TestImages.Noise(37, 29, seed: 7);
        var chw = new float[3 * 37 * 29];

        ImageTensors.ToNchw(image, chw, minusOneToOne);
        RgbImage back = ImageTensors.FromNchw(chw, 37, 29, minusOneToOne ? ImageRange.MinusOneToOne : ImageRange.ZeroToOne);

        Assert.Equal(image.Pixels, back.Pixels);
    }

    [Fact]
    public void ToNchw_RejectsWrongDestinationLength()
    {
        RgbImage image = TestImages.Noise(4, 4, seed: 1);
        Assert.Throws<ArgumentException>(() => ImageTensors.ToNchw(image, new float[47]));
        Assert.Throws<ArgumentException>(() => ImageTensors.FromNchw(new float[47], 4, 4, ImageRange.ZeroToOne));
    }

    [Fact]
    public void ContainsNonFinite_FindsNaNAndInfinityAnywhere()
    {
        var values = new float[67];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (i - 30) * 1e30f;
        }
        Assert.False(ImageTensors.ContainsNonFinite(values));

        foreach (int index in new[] { 0, 3, 40, 66 })
        {
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                float[] copy = (float[])values.Clone();
                copy[index] = bad;
                Assert.True(ImageTensors.ContainsNonFinite(copy), $"{bad} at {index}");
            }
        }
        Assert.False(ImageTensors.ContainsNonFinite([]));
    }
}
