using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>
/// Damaged model files for the fuzz tests (issue 14): every function is deterministic in its <see cref="Random"/>, so a failing
/// case is replayed from its seed. Each returns the damaged bytes (or writes the file) and a short description for messages.
/// </summary>
public static class ModelFileCorruptions
{
    /// <summary>The first <c>n</c> bytes, n in [0, length): from an empty file to one byte short.</summary>
    public static (byte[] Bytes, string What) Truncate(byte[] original, Random random)
    {
        int n = random.Next(4) switch
        {
            0 => random.Next(Math.Min(16, original.Length)),                     // inside the length prefix
            1 => random.Next(Math.Min(original.Length, 8 + HeaderLength(original))), // inside the header
            _ => random.Next(original.Length),                                  // anywhere
        };
        return (original[..n], $"truncated to {n} of {original.Length} bytes");
    }

    /// <summary>1–16 bit flips, half of them in the length prefix and header (where they change structure), half anywhere.</summary>
    public static (byte[] Bytes, string What) FlipBits(byte[] original, Random random)
    {
        byte[] bytes = (byte[])original.Clone();
        int flips = 1 + random.Next(16);
        int header = Math.Min(bytes.Length, 8 + HeaderLength(original));
        var positions = new List<string>();
        for (int i = 0; i < flips; i++)
        {
            int at = random.Next(2) == 0 ? random.Next(header) : random.Next(bytes.Length);
            int bit = random.Next(8);
            bytes[at] ^= (byte)(1 << bit);
            positions.Add($"{at}.{bit}");
        }
        return (bytes, $"{flips} bit flip(s) at {string.Join(" ", positions)}");
    }

    /// <summary>
    /// A safetensors file whose header lies about its data: a tensor's offsets out of range, reversed, overlapping or not matching
    /// its shape; a shape with negative, zero, huge or too many dimensions; an unknown or wrong dtype; the length prefix too large or
    /// too small; a header that is not a JSON object; a missing field.
    /// </summary>
    public static (byte[] Bytes, string What) LieInHeader(byte[] original, Random random)
    {
        int headerLength = HeaderLength(original);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(original, 8, headerLength))!.AsObject();
        byte[] data = original[(8 + headerLength)..];
        var names = header.Where(kv => kv.Key != "__metadata__").Select(kv => kv.Key).ToList();
        string name = names[random.Next(names.Count)];
        var entry = header[name]!.AsObject();
        var offsets = entry["data_offsets"]!.AsArray();
        long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
        string what;
        switch (random.Next(14))
        {
            case 0: entry["data_offsets"] = new JsonArray(begin, data.Length + 1 + random.Next(1 << 20)); what = "end offset past the data"; break;
            case 1: entry["data_offsets"] = new JsonArray(end, begin); what = "offsets reversed"; break;
            case 2: entry["data_offsets"] = new JsonArray(-1 - random.Next(100), end); what = "negative begin"; break;
            case 3: entry["data_offsets"] = new JsonArray(begin, long.MaxValue); what = "end offset long.MaxValue"; break;
            case 4: entry["data_offsets"] = new JsonArray(begin, begin + Math.Max(1, (end - begin) / 2)); what = "offsets shorter than the shape"; break;
            case 5: entry["shape"] = new JsonArray(-1 - random.Next(4), 4); what = "negative dimension"; break;
            case 6: entry["shape"] = new JsonArray(1L << 40, 1L << 40); what = "shape of 2^80 elements"; break;
            case 7: entry["shape"] = new JsonArray(Enumerable.Range(0, 64 + random.Next(64)).Select(_ => (JsonNode?)JsonValue.Create(1L)).ToArray()); what = "too many dimensions"; break;
            case 8: entry["dtype"] = random.Next(3) switch { 0 => "F128", 1 => "", _ => "I64" }; what = $"dtype {entry["dtype"]}"; break;
            case 9: entry.Remove(random.Next(3) switch { 0 => "dtype", 1 => "shape", _ => "data_offsets" }); what = "a field missing"; break;
            case 10: entry["shape"] = "[1, 2]"; what = "shape is a string"; break;
            case 11:
                return (WithPrefix(original, (ulong)original.Length + (ulong)random.Next(1, 1 << 20)), "length prefix past the end of the file");
            case 12:
                return (WithPrefix(original, ulong.MaxValue - (ulong)random.Next(100)), "length prefix near 2^64");
            default:
                byte[] notObject = Encoding.UTF8.GetBytes(random.Next(3) switch { 0 => "[1,2,3]", 1 => "null", _ => "{\"a\": " });
                return (Assemble(notObject, data), "header is not a JSON object");
        }
        return (Assemble(Encoding.UTF8.GetBytes(header.ToJsonString()), data), $"{name}: {what}");
    }

    /// <summary>Bytes that are not an ONNX model: empty, random, text, or a model cut short.</summary>
    public static (byte[] Bytes, string What) GarbageOrTruncatedOnnx(byte[] original, Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                int n = random.Next(original.Length);
                return (original[..n], $"ONNX truncated to {n} of {original.Length} bytes");
            case 1:
                byte[] noise = new byte[random.Next(1, 64 * 1024)];
                random.NextBytes(noise);
                return (noise, $"{noise.Length} random bytes");
            case 2:
                return (Encoding.UTF8.GetBytes("version https://git-lfs.github.com/spec/v1\noid sha256:" + new string('0', 64) + "\nsize 12345\n"), "a Git LFS pointer");
            default:
                return ([], "an empty file");
        }
    }

    /// <summary>
    /// A config.json with one field of the wrong type or an impossible value (number ↔ string ↔ list ↔ object ↔ null, zero, negative,
    /// off by one, doubled, huge), a field removed, or the JSON itself broken.
    /// </summary>
    public static (string Json, string What) MutateConfig(string json, Random random)
    {
        if (random.Next(10) == 0)
        {
            int n = random.Next(json.Length);
            return (json[..n], $"config truncated to {n} characters");
        }
        var node = JsonNode.Parse(json)!.AsObject();
        var keys = node.Select(kv => kv.Key).Where(k => !k.StartsWith('_')).ToList();
        string key = keys[random.Next(keys.Count)];
        JsonNode? old = node[key];
        JsonNode? replacement = random.Next(11) switch
        {
            0 => JsonValue.Create("not a number"),
            1 => new JsonArray(1, "two", null),
            2 => new JsonObject { ["x"] = 1 },
            3 => null,
            4 => JsonValue.Create(true),
            5 => JsonValue.Create(0),
            6 => JsonValue.Create(-1 - random.Next(1000)),
            7 => JsonValue.Create(1e300),
            8 => old is JsonValue v && v.TryGetValue(out long l) ? JsonValue.Create(l + (random.Next(2) == 0 ? 1 : -1)) : JsonValue.Create(3),
            9 => old is JsonValue w && w.TryGetValue(out long m) ? JsonValue.Create(m * 2) : JsonValue.Create(7.5),
            _ => JsonValue.Create(2.5),
        };
        if (random.Next(8) == 0)
        {
            node.Remove(key);
            return (node.ToJsonString(), $"'{key}' removed");
        }
        node[key] = replacement;
        return (node.ToJsonString(), $"'{key}' = {replacement?.ToJsonString() ?? "null"} (was {old?.ToJsonString() ?? "null"})");
    }

    /// <summary>
    /// A kohya-style LoRA that does not fit the model: modules of another architecture (SD 1.x input_blocks, 30-layer text encoders),
    /// real modules with mismatched up/down ranks or widths, alphas of the wrong shape, float16 or empty tensors.
    /// <paramref name="realModules"/> are kohya module names of the target with their weight shapes [out, in].
    /// </summary>
    public static string WriteWrongLora(string path, IReadOnlyList<(string Module, long Out, long In)> realModules, Random random)
    {
        var tensors = new List<SafetensorsWriter.Tensor>();
        int layers = 1 + random.Next(4);
        for (int i = 0; i < layers; i++)
        {
            var (module, outDim, inDim) = random.Next(3) == 0
                ? (random.Next(2) == 0 ? $"lora_unet_input_blocks_{1 + random.Next(11)}_1_transformer_blocks_0_attn1_to_q" : $"lora_te_text_model_encoder_layers_{20 + random.Next(10)}_mlp_fc1", 320L, 320L)
                : realModules[random.Next(realModules.Count)];
            long rank = 1 + random.Next(8);
            long downRank = rank, upRank = rank, down_in = inDim, up_out = outDim;
            switch (random.Next(5))
            {
                case 0: upRank = rank + 1 + random.Next(4); break;          // up/down ranks disagree
                case 1: down_in = inDim + 1 + random.Next(64); break;       // wrong input width
                case 2: up_out = Math.Max(1, outDim / 2); break;            // wrong output width
                case 3: downRank = 0; upRank = 0; break;                    // empty
                default: break;                                             // fits (another layer may not)
            }
            var dtype = random.Next(3) == 0 ? SafetensorsDType.F16 : SafetensorsDType.F32;
            tensors.Add(Tensor($"{module}.lora_down.weight", dtype, [downRank, down_in], random));
            tensors.Add(Tensor($"{module}.lora_up.weight", dtype, [up_out, upRank], random));
            switch (random.Next(4))
            {
                case 0: tensors.Add(Tensor($"{module}.alpha", SafetensorsDType.F32, [], random)); break;
                case 1: tensors.Add(Tensor($"{module}.alpha", SafetensorsDType.F32, [1 + random.Next(4), 2], random)); break;
                case 2: tensors.Add(Tensor($"{module}.alpha", SafetensorsDType.F32, [0], random)); break;
                default: break;
            }
        }
        SafetensorsWriter.Write(path, tensors.DistinctBy(t => t.Name), new Dictionary<string, string> { ["format"] = "pt" });
        return path;
    }

    private static SafetensorsWriter.Tensor Tensor(string name, SafetensorsDType dtype, long[] shape, Random random)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (dtype == SafetensorsDType.F16)
        {
            var half = new Half[count];
            for (long i = 0; i < count; i++) half[i] = (Half)(random.NextSingle() - 0.5f);
            return SafetensorsWriter.Tensor.FromArray(name, dtype, shape, half);
        }
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = random.NextSingle() - 0.5f;
        return SafetensorsWriter.Tensor.FromArray(name, dtype, shape, values);
    }

    /// <summary>The header length a safetensors file's 8-byte prefix states (clamped to the file; 0 when the file is shorter than the prefix).</summary>
    private static int HeaderLength(byte[] file) =>
        file.Length < 8 ? 0 : (int)Math.Min((ulong)(file.Length - 8), BinaryPrimitives.ReadUInt64LittleEndian(file));

    private static byte[] WithPrefix(byte[] original, ulong prefix)
    {
        byte[] bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, prefix);
        return bytes;
    }

    private static byte[] Assemble(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }
}
