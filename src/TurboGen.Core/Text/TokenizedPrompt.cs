namespace TurboGen.Text;

/// <summary>
/// A prompt ready for a CLIP text encoder. <see cref="Ids"/> is <c>[BOS] + first MaxLength-2 BPE tokens + [EOS]</c>, right-padded
/// with the tokenizer's pad id to exactly <c>MaxLength</c> entries. <see cref="TokenCount"/> counts the BPE tokens before truncation
/// (without BOS/EOS), <see cref="Truncated"/> says whether any were dropped, and <see cref="EosIndex"/> is the position of the
/// appended EOS (a literal "&lt;|endoftext|&gt;" written in the prompt does not count).
/// </summary>
public sealed record TokenizedPrompt(int[] Ids, int TokenCount, bool Truncated, int EosIndex);
