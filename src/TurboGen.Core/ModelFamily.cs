namespace TurboGen;

/// <summary>SDXL family (two text encoders, text_time conditioning) or SD 2.x family (one encoder).</summary>
public enum ModelFamily { Sdxl, Sd }
