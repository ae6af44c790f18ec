using Google.Protobuf;
using Onnx;

namespace TurboGen.Graphs;

/// <summary>Writing a built graph: the ONNX model proto, with weights inline or streamed into one external data file.</summary>
public sealed partial class GraphBuilder
{
    /// <summary>Builds the model proto. Weights whose byte size is at least <paramref name="externalThreshold"/> are recorded as external data in <paramref name="externalDataFile"/> (offsets filled by <paramref name="externalLayout"/>), the rest inline.</summary>
    internal ModelProto ToModel(string? externalDataFile, long externalThreshold, out List<(Initializer Init, long Offset)> externalLayout)
    {
        var graph = new GraphProto { Name = Name };
        graph.Node.AddRange(_nodes);
        graph.Input.AddRange(_inputs);
        graph.Output.AddRange(_outputs);
        externalLayout = [];
        long offset = 0;
        foreach (var init in _initializers)
        {
            var t = new TensorProto { Name = init.Name, DataType = (int)init.Type };
            t.Dims.AddRange(init.Shape);
            if (externalDataFile is not null && init.Data.ByteLength >= externalThreshold)
            {
                // 4 KiB alignment lets ONNX Runtime memory-map the data file.
                offset = (offset + 4095) & ~4095L;
                t.DataLocation = TensorProto.Types.DataLocation.External;
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = externalDataFile });
                t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
                t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = init.Data.ByteLength.ToString() });
                externalLayout.Add((init, offset));
                offset += init.Data.ByteLength;
            }
            else
            {
                t.RawData = ByteString.CopyFrom(init.Data.ToArray());
            }
            graph.Initializer.Add(t);
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "TurboGen",
            ProducerVersion = typeof(GraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        if (_usesMicrosoftDomain)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
        return model;
    }

    /// <summary>The whole model with every weight inline (for small graphs; protobuf limits a message to 2 GiB).</summary>
    public byte[] ToBytes() => ToModel(null, long.MaxValue, out _).ToByteArray();

    /// <summary>
    /// Writes <paramref name="modelPath"/> and, when <paramref name="externalDataFileName"/> is given, every weight of at least
    /// <paramref name="externalThreshold"/> bytes into that file next to it (Optimum uses "model.onnx_data", Olive "model.onnx.data").
    /// Files are written under temporary names and renamed, so a failed write leaves nothing half-written.
    /// </summary>
    public void Save(string modelPath, string? externalDataFileName = null, long externalThreshold = 1024)
    {
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath))!;
        Directory.CreateDirectory(dir);
        var model = ToModel(externalDataFileName, externalThreshold, out var layout);
        string? dataPath = externalDataFileName is null ? null : System.IO.Path.Combine(dir, externalDataFileName);
        string tmpModel = modelPath + ".tmp";
        string? tmpData = dataPath is null ? null : dataPath + ".tmp";
        try
        {
            if (tmpData is not null)
            {
                using var fs = new FileStream(tmpData, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                foreach (var (init, off) in layout)
                {
                    if (fs.Position < off)
                    {
                        fs.Write(new byte[off - fs.Position]);
                    }
                    init.Data.WriteTo(fs);
                }
            }
            using (var fs = new FileStream(tmpModel, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                model.WriteTo(fs);
            }
            if (tmpData is not null)
            {
                File.Move(tmpData, dataPath!, overwrite: true);
            }
            File.Move(tmpModel, modelPath, overwrite: true);
        }
        catch
        {
            TryDelete(tmpModel);
            if (tmpData is not null) TryDelete(tmpData);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
