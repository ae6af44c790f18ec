using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>Loads each tiny model flavour once per test run (sessions are reused like in production).</summary>
public sealed class TinyModelFixture : IDisposable
{
    private readonly Dictionary<(TinyFamily, TinyFlavor), TurboModel> _models = new();

    public TurboModel Get(TinyFamily family, TinyFlavor flavor)
    {
        lock (_models)
        {
            if (!_models.TryGetValue((family, flavor), out var model))
            {
                string dir = TinyModels.Get(family, flavor);
                model = TurboModel.Load(dir, new ModelLoadOptions
                {
                    TinyVaePath = Path.Combine(dir, "taesd"),
                    Runtime = new RuntimeOptions { Threads = 1 },
                });
                _models[(family, flavor)] = model;
            }
            return model;
        }
    }

    public void Dispose()
    {
        foreach (var m in _models.Values) m.Dispose();
    }
}

[CollectionDefinition("tiny-models")]
public sealed class TinyModelCollection : ICollectionFixture<TinyModelFixture>;
