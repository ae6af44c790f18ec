using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TurboGen.Server.Api;

/// <summary>
/// JSON converters for <c>float</c>/<c>double</c> request fields that refuse values that are not finite: <c>1e400</c> reads
/// as infinity in .NET (and "NaN"/"Infinity" strings would too), which no field means and no response can echo. The
/// error is a <see cref="JsonException"/>, so it names the field (400/422) like any other type error. Numbers sent as
/// strings are accepted, as the APIs' <see cref="JsonNumberHandling.AllowReadingFromString"/> does.
/// </summary>
public static class FiniteNumbers
{
    public static readonly JsonConverter<float> Single = new SingleConverter();
    public static readonly JsonConverter<double> Double = new DoubleConverter();

    /// <summary>Adds both converters to <paramref name="options"/> and returns it.</summary>
    public static JsonSerializerOptions With(JsonSerializerOptions options)
    {
        options.Converters.Add(Single);
        options.Converters.Add(Double);
        return options;
    }

    private static double Read(ref Utf8JsonReader reader)
    {
        double value = reader.TokenType switch
        {
            JsonTokenType.Number => reader.GetDouble(),
            JsonTokenType.String when double.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) => parsed,
            _ => throw new JsonException("The value must be a number."),
        };
        return double.IsFinite(value) ? value : throw new JsonException("The value must be a finite number.");
    }

    private sealed class SingleConverter : JsonConverter<float>
    {
        public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            float value = (float)FiniteNumbers.Read(ref reader);
            return float.IsFinite(value) ? value : throw new JsonException("The value is out of range for a 32-bit float.");
        }

        public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
    }

    private sealed class DoubleConverter : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => FiniteNumbers.Read(ref reader);

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
    }
}
