namespace TurboGen.Imaging;

/// <summary>
/// Generation metadata embedded in saved PNGs: <paramref name="Parameters"/> is the A1111-style infotext
/// (see <see cref="Infotext"/>, stored in the "parameters" chunk), <paramref name="Json"/> is TurboGen's own JSON
/// of the generation request (stored in the "turbogen" chunk).
/// </summary>
public sealed record ImageMetadata(string Parameters, string Json);
