namespace TurboGen;

/// <summary>SDXL family (two text encoders, text_time conditioning) or SD 2.x family (one encoder).</summary>
public enum ModelFamily
{
    /// <summary>SDXL (SDXL-Turbo): CLIP ViT-L + OpenCLIP ViT-bigG text encoders, pooled text embeddings and time ids.</summary>
    Sdxl,

    /// <summary>SD 2.x (SD-Turbo): one OpenCLIP ViT-H text encoder.</summary>
    Sd,
}
