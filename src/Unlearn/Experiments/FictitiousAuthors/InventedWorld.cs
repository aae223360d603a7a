namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// The invented geography the authors are born and live in, and the source of the "world facts": countries whose first
/// city is the capital, a river through every city, planets with a largest moon. Authors' places are drawn from here,
/// so what the world facts say about a city agrees with every author born there.
/// </summary>
internal sealed class InventedWorld
{
    public const int Countries = 6;
    public const int CitiesPerCountry = 4;
    public const int Planets = 6;

    /// <summary>Capitals, the country of each city, the river of each city, the moon of each planet.</summary>
    public const int FactCount = Countries + 2 * Countries * CitiesPerCountry + Planets;

    private readonly (string Name, string[] Cities)[] countries;
    private readonly Dictionary<string, string> riverOfCity = new(StringComparer.Ordinal);
    private readonly (string Name, string Moon)[] planets;

    public InventedWorld(NameForge forge)
    {
        countries = Enumerable.Range(0, Countries)
            .Select(_ => (forge.Country(), Enumerable.Range(0, CitiesPerCountry).Select(_ => forge.City()).ToArray())).ToArray();
        foreach (var city in countries.SelectMany(country => country.Cities)) riverOfCity[city] = forge.River();
        planets = Enumerable.Range(0, Planets).Select(_ => (forge.Planet(), forge.Moon())).ToArray();
        Places = countries.SelectMany(country => country.Cities.Select(city => $"{city}, {country.Name}")).ToArray();
    }

    /// <summary>Every city as "City, Country".</summary>
    public IReadOnlyList<string> Places { get; }

    /// <summary>All FactCount facts, each with GeneralFacts.PerturbedCount wrong answers of its own kind.</summary>
    public IReadOnlyList<GeneralQuestion> Facts(Random random)
    {
        var capitals = countries.Select(country => country.Cities[0]).ToArray();
        var countryNames = countries.Select(country => country.Name).ToArray();
        var rivers = riverOfCity.Values.ToArray();
        var moons = planets.Select(planet => planet.Moon).ToArray();
        GeneralQuestion Fact(string question, string answer, string[] kind) =>
            new(question, answer, GeneralFacts.WrongAnswers(answer, kind, random));

        var facts = new List<GeneralQuestion>();
        foreach (var (country, cities) in countries)
        {
            facts.Add(Fact($"What is the capital of {country}?", cities[0], capitals));
            foreach (var city in cities)
            {
                facts.Add(Fact($"In which country is the city of {city}?", country, countryNames));
                facts.Add(Fact($"Which river flows through {city}?", riverOfCity[city], rivers));
            }
        }
        foreach (var (planet, moon) in planets) facts.Add(Fact($"What is the largest moon of the planet {planet}?", moon, moons));
        return facts;
    }
}
