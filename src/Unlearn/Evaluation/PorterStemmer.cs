namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// The Porter (1980) suffix stripper with nltk's extensions: nltk's PorterStemmer() in its default mode,
/// NLTK_EXTENSIONS, which is what rouge_score stems with (rouge/tokenizers.py constructs PorterStemmer() with no mode).
/// Each departure from the published algorithm is marked "nltk:". Written for the lower-case a-z/0-9 tokens ROUGE
/// produces.
/// </summary>
public static class PorterStemmer
{
    /// <summary>A suffix, what replaces it, and the condition on the stem left by removing it.</summary>
    private sealed record Rule(string Suffix, string Replacement, Func<string, bool> Condition);

    private static readonly Func<string, bool> PositiveMeasure = stem => Measure(stem) > 0;
    private static readonly Func<string, bool> MeasureAboveOne = stem => Measure(stem) > 1;

    private static readonly Rule[] Step2Rules =
    [
        new("ational", "ate", PositiveMeasure), new("tional", "tion", PositiveMeasure),
        new("enci", "ence", PositiveMeasure), new("anci", "ance", PositiveMeasure),
        // nltk: -bli → -ble instead of the paper's -abli → -able; -alli is handled before the list (Step2).
        new("izer", "ize", PositiveMeasure), new("bli", "ble", PositiveMeasure), new("entli", "ent", PositiveMeasure),
        new("eli", "e", PositiveMeasure), new("ousli", "ous", PositiveMeasure),
        new("ization", "ize", PositiveMeasure), new("ation", "ate", PositiveMeasure),
        new("ator", "ate", PositiveMeasure), new("alism", "al", PositiveMeasure),
        new("iveness", "ive", PositiveMeasure), new("fulness", "ful", PositiveMeasure),
        new("ousness", "ous", PositiveMeasure), new("aliti", "al", PositiveMeasure),
        new("iviti", "ive", PositiveMeasure), new("biliti", "ble", PositiveMeasure),
        // nltk: -fulli → -ful, and -logi → -log with the l counted in the stem (so geo-logi, theo-logi qualify).
        new("fulli", "ful", PositiveMeasure), new("logi", "log", stem => Measure(stem + "l") > 0),
    ];

    private static readonly Rule[] Step3Rules =
    [
        new("icate", "ic", PositiveMeasure), new("ative", "", PositiveMeasure), new("alize", "al", PositiveMeasure),
        new("iciti", "ic", PositiveMeasure), new("ical", "ic", PositiveMeasure), new("ful", "", PositiveMeasure),
        new("ness", "", PositiveMeasure),
    ];

    private static readonly Rule[] Step4Rules =
    [
        new("al", "", MeasureAboveOne), new("ance", "", MeasureAboveOne), new("ence", "", MeasureAboveOne),
        new("er", "", MeasureAboveOne), new("ic", "", MeasureAboveOne), new("able", "", MeasureAboveOne),
        new("ible", "", MeasureAboveOne), new("ant", "", MeasureAboveOne), new("ement", "", MeasureAboveOne),
        new("ment", "", MeasureAboveOne), new("ent", "", MeasureAboveOne),
        new("ion", "", stem => Measure(stem) > 1 && stem[^1] is 's' or 't'),
        new("ou", "", MeasureAboveOne), new("ism", "", MeasureAboveOne), new("ate", "", MeasureAboveOne),
        new("iti", "", MeasureAboveOne), new("ous", "", MeasureAboveOne), new("ive", "", MeasureAboveOne),
        new("ize", "", MeasureAboveOne),
    ];

    /// <summary>nltk: irregular forms, each mapped to its stem before (and instead of) the steps.</summary>
    private static readonly Dictionary<string, string> IrregularForms = new()
    {
        ["sky"] = "sky", ["skies"] = "sky", ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie", ["news"] = "news",
        ["innings"] = "inning", ["inning"] = "inning", ["outings"] = "outing", ["outing"] = "outing",
        ["cannings"] = "canning", ["canning"] = "canning", ["howe"] = "howe", ["proceed"] = "proceed",
        ["exceed"] = "exceed", ["succeed"] = "succeed",
    };

    public static string Stem(string word)
    {
        // nltk looks the word up as given, before lower-casing it.
        if (IrregularForms.TryGetValue(word, out var irregular)) return irregular;
        var stem = word.ToLowerInvariant();
        // nltk: words of one or two letters are left as they are.
        if (stem.Length <= 2) return stem;
        stem = Step1a(stem);
        stem = Step1b(stem);
        stem = Step1c(stem);
        stem = Step2(stem);
        stem = ApplyFirstMatch(stem, Step3Rules);
        stem = ApplyFirstMatch(stem, Step4Rules);
        stem = Step5a(stem);
        return Step5b(stem);
    }

    /// <summary>The first rule whose suffix matches decides: its condition failing leaves the word as it is.</summary>
    private static string ApplyFirstMatch(string word, Rule[] rules)
    {
        foreach (var rule in rules)
        {
            if (!word.EndsWith(rule.Suffix, StringComparison.Ordinal)) continue;
            var stem = word[..^rule.Suffix.Length];
            return rule.Condition(stem) ? stem + rule.Replacement : word;
        }
        return word;
    }

    /// <summary>SSES → SS, IES → I (nltk: IE in a four-letter word, so ties → tie), SS → SS, S → (nothing).</summary>
    private static string Step1a(string word) =>
        word.EndsWith("sses", StringComparison.Ordinal) ? word[..^2]
        : word.EndsWith("ies", StringComparison.Ordinal) && word.Length == 4 ? word[..^1]
        : word.EndsWith("ies", StringComparison.Ordinal) ? word[..^2]
        : word.EndsWith("ss", StringComparison.Ordinal) ? word
        : word.EndsWith('s') ? word[..^1]
        : word;

    /// <summary>
    /// (m&gt;0) EED → EE; (*v*) ED and (*v*) ING removed, then the stem tidied so step 4 can see -ATE, -BLE, -IZE.
    /// nltk: IED → IE in a four-letter word (died → die), else → I (spied → spi), before the other rules.
    /// </summary>
    private static string Step1b(string word)
    {
        if (word.EndsWith("ied", StringComparison.Ordinal)) return word.Length == 4 ? word[..^1] : word[..^2];
        if (word.EndsWith("eed", StringComparison.Ordinal))
            return Measure(word[..^3]) > 0 ? word[..^1] : word;

        string? stem = null;
        foreach (var suffix in (ReadOnlySpan<string>)["ed", "ing"])
        {
            if (word.EndsWith(suffix, StringComparison.Ordinal) && ContainsVowel(word[..^suffix.Length]))
            {
                stem = word[..^suffix.Length];
                break;
            }
        }
        if (stem is null) return word;

        if (stem.EndsWith("at", StringComparison.Ordinal) || stem.EndsWith("bl", StringComparison.Ordinal)
            || stem.EndsWith("iz", StringComparison.Ordinal))
            return stem + "e";
        if (EndsDoubleConsonant(stem))
            return stem[^1] is 'l' or 's' or 'z' ? stem : stem[..^1];
        return Measure(stem) == 1 && EndsConsonantVowelConsonant(stem) ? stem + "e" : stem;
    }

    /// <summary>nltk: Y → I when the y follows a consonant that is not the whole stem (happy → happi, enjoy and by stay).</summary>
    private static string Step1c(string word) =>
        word.EndsWith('y') && word.Length > 2 && Consonants(word[..^1])[^1] ? word[..^1] + "i" : word;

    /// <summary>nltk: -alli → -al is tried first, and step 2 runs again on what it leaves; then the first matching rule.</summary>
    private static string Step2(string word) =>
        word.EndsWith("alli", StringComparison.Ordinal) && Measure(word[..^4]) > 0 ? Step2(word[..^2]) : ApplyFirstMatch(word, Step2Rules);

    /// <summary>(m&gt;1) E removed; (m=1 and not *o) E removed.</summary>
    private static string Step5a(string word)
    {
        if (!word.EndsWith('e')) return word;
        var stem = word[..^1];
        var measure = Measure(stem);
        return measure > 1 || measure == 1 && !EndsConsonantVowelConsonant(stem) ? stem : word;
    }

    /// <summary>(m&gt;1 and *d and *L) → single letter; nltk measures the word less one L.</summary>
    private static string Step5b(string word) =>
        word.EndsWith("ll", StringComparison.Ordinal) && Measure(word[..^1]) > 1 ? word[..^1] : word;

    /// <summary>A consonant is a letter other than a, e, i, o, u, and other than a y that follows a consonant.</summary>
    private static bool[] Consonants(string word)
    {
        var consonant = new bool[word.Length];
        for (var i = 0; i < word.Length; i++)
            consonant[i] = word[i] switch
            {
                'a' or 'e' or 'i' or 'o' or 'u' => false,
                'y' => i == 0 || !consonant[i - 1],
                _ => true,
            };
        return consonant;
    }

    /// <summary>m in [C](VC)^m[V]: the number of vowel-to-consonant transitions.</summary>
    private static int Measure(string stem)
    {
        var consonant = Consonants(stem);
        var measure = 0;
        for (var i = 1; i < consonant.Length; i++)
            if (!consonant[i - 1] && consonant[i]) measure++;
        return measure;
    }

    private static bool ContainsVowel(string stem) => Array.IndexOf(Consonants(stem), false) >= 0;

    /// <summary>*d: the stem ends with a double consonant.</summary>
    private static bool EndsDoubleConsonant(string word) =>
        word.Length >= 2 && word[^1] == word[^2] && Consonants(word)[^1];

    /// <summary>
    /// *o: the stem ends consonant-vowel-consonant, the last not w, x or y (-WIL, -HOP); nltk: or it is a vowel then
    /// any consonant (are, use, owing → owe).
    /// </summary>
    private static bool EndsConsonantVowelConsonant(string word)
    {
        var consonant = Consonants(word);
        if (word.Length == 2) return !consonant[0] && consonant[1];
        return word.Length >= 3 && word[^1] is not ('w' or 'x' or 'y') && consonant[^3] && !consonant[^2] && consonant[^1];
    }
}
