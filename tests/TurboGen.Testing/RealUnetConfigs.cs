using TurboGen.Configs;

namespace TurboGen.Testing;

/// <summary>The unet/config.json of the real turbo models; they now live in Core (<see cref="KnownConfigs"/>), kept here for existing tests.</summary>
public static class RealUnetConfigs
{
    /// <summary>stabilityai/sdxl-turbo unet/config.json.</summary>
    public static string SdxlTurbo => KnownConfigs.SdxlTurbo.UnetConfigJson;

    /// <summary>stabilityai/sd-turbo unet/config.json.</summary>
    public static string SdTurbo => KnownConfigs.SdTurbo.UnetConfigJson;
}
