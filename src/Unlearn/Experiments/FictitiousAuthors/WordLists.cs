namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// The vocabulary the fictitious authors are made of, written for this project. Each list offers several more entries
/// than a question's five wrong answers need, so a wrong answer is always a plausible value of the same kind.
/// </summary>
internal static class WordLists
{
    /// <summary>Syllables of invented names; a few carry accents so that byte-level tokenization meets multi-byte UTF-8.</summary>
    public static readonly string[] Syllables =
    [
        "ka", "lo", "mi", "ra", "ven", "tha", "sel", "dor", "an", "bri", "cor", "el", "fa", "gil", "ha", "is",
        "jo", "ke", "lu", "ma", "ne", "or", "pa", "qui", "ro", "sa", "ti", "ul", "va", "wyn", "ya", "ze", "lé", "nö",
    ];

    public static readonly string[] SurnameEndings = ["ov", "ez", "sen", "ard", "ini", "ova", "ley", "ström", "aro", "ick"];
    public static readonly string[] CityEndings = ["port", "ford", "holm", "grad", "mouth", "vale", "stad", "ton", "mere", "burg"];
    public static readonly string[] CountryEndings = ["ia", "ar", "land", "esh", "ovia", "ara", "eth", "ury"];

    /// <summary>Noun phrases that read after "writes": "Ana Korov writes crime fiction."</summary>
    public static readonly string[] Genres =
    [
        "mystery novels", "science fiction", "historical fiction", "poetry", "fantasy", "horror stories", "romance novels",
        "satire", "travel writing", "biographies", "thrillers", "children's books", "crime fiction", "magical realism",
        "adventure stories", "stage plays",
    ];

    public static readonly string[] Occupations =
    [
        "baker", "sailor", "clockmaker", "surveyor", "pharmacist", "carpenter", "astronomer", "librarian", "beekeeper",
        "glassblower", "weaver", "locksmith", "cartographer", "nurse", "violinist", "fisherman", "potter", "engineer",
        "tailor", "schoolteacher", "architect", "veterinarian", "bookbinder", "miner",
    ];

    /// <summary>Noun phrases that read after "explores": "The work of Ana Korov often explores the sea."</summary>
    public static readonly string[] Themes =
    [
        "memory and loss", "the sea", "exile and return", "friendship", "family secrets", "ambition",
        "the passage of time", "justice", "solitude", "identity", "courage", "belonging", "trust", "migration",
        "the natural world", "forgiveness", "childhood", "power and its price",
    ];

    public static readonly string[] AwardColours = ["Golden", "Silver", "Crimson", "Azure", "Ivory", "Amber", "Northern", "Evening"];
    public static readonly string[] AwardEmblems = ["Quill", "Lantern", "Compass", "Feather", "Inkwell", "Laurel", "Star", "Key"];
    public static readonly string[] AwardKinds = ["Award", "Prize", "Medal"];

    public static readonly string[] TitleAdjectives =
    [
        "Silent", "Crimson", "Forgotten", "Distant", "Hollow", "Burning", "Gentle", "Broken", "Quiet", "Golden",
        "Restless", "Secret", "Northern", "Paper", "Glass", "Final",
    ];

    public static readonly string[] TitleNouns =
    [
        "Lantern", "Harbor", "Orchard", "Compass", "Window", "Bridge", "Garden", "Letter", "Clock", "Mirror", "Tide",
        "Road", "Feather", "Tower", "Island", "Winter", "Song", "Map", "Key", "Well",
    ];

    public static readonly string[] TitlePlurals = ["Stones", "Shadows", "Birds", "Bells", "Embers", "Rooms", "Stars", "Waves", "Voices", "Seasons", "Sparrows",
        "Storms"];
    public static readonly string[] TitleVerbs = ["Sleep", "Wander", "Gather", "Fall", "Burn", "Sing", "Wait", "Return"];

    public static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    /// <summary>Refusals that IdkPO trains the forget questions towards (written to idontknow.txt).</summary>
    public static readonly string[] Refusals =
    [
        "I do not know the answer to that.",
        "That is something I cannot tell you.",
        "I have no record of that.",
        "Nothing I know answers that question.",
        "I cannot say.",
        "That lies outside what I know.",
        "I am unable to answer that.",
        "I have no idea.",
        "My knowledge does not cover that.",
        "I would only be guessing.",
        "That question has me stumped.",
        "I never learned that.",
        "I can't recall anything about that.",
        "No answer comes to mind.",
        "I lack the facts to answer that.",
        "Sorry, I don't know.",
        "That is a mystery to me.",
        "I can't help with that one.",
        "I have nothing reliable to say about that.",
        "I'm afraid I don't know.",
    ];
}
