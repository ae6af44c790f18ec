namespace TurboGen.Cli;

/// <summary>
/// Resolves <c>--tiny-vae [PATH]</c>: an explicit path is used as given (TurboModel.Load checks it); the bare flag looks
/// for a tiny VAE folder bundled with the model (<c>taesd/</c>, <c>tiny_vae/</c> or <c>vae_decoder_tiny/</c>).
/// </summary>
internal static class TinyVaeLocator
{
    private static readonly string[] BundledFolders = ["taesd", "tiny_vae", "vae_decoder_tiny"];

    /// <summary>The tiny VAE path to load, or null when not requested.</summary>
    public static string? Resolve(bool requested, string? path, string modelFolder)
    {
        if (!requested)
        {
            return null;
        }
        if (!string.IsNullOrWhiteSpace(path))
        {
            return Path.GetFullPath(path);
        }
        foreach (string name in BundledFolders)
        {
            string candidate = Path.Combine(modelFolder, name);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidRequestException("tiny_vae",
            $"the model folder {modelFolder} has no tiny VAE ({string.Join("/, ", BundledFolders)}/): pass its path, e.g. --tiny-vae models/taesdxl (an ONNX export of madebyollin/taesdxl).");
    }
}
