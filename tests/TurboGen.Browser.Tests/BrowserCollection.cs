namespace TurboGen.Browser.Tests;

/// <summary>Every browser test class shares one server and one Chromium (<see cref="BrowserFixture"/>); they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
