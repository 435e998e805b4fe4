using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>Docker-style random names: <c>adjective_surname</c>.</summary>
internal static class NameGenerator
{
    private static readonly string[] Left =
    [
        "admiring", "adoring", "agitated", "amazing", "angry", "awesome", "blissful", "bold", "brave", "busy", "charming",
        "clever", "compassionate", "confident", "cool", "dazzling", "determined", "eager", "ecstatic", "elastic", "elegant",
        "epic", "exciting", "fervent", "festive", "focused", "friendly", "gallant", "gifted", "goofy", "gracious", "happy",
        "hopeful", "infallible", "inspiring", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical",
        "modest", "musing", "naughty", "nervous", "nice", "nifty", "nostalgic", "optimistic", "peaceful", "pensive",
        "practical", "priceless", "quirky", "quizzical", "relaxed", "reverent", "romantic", "serene", "sharp", "silly",
        "sleepy", "stoic", "strange", "sweet", "tender", "thirsty", "trusting", "upbeat", "vibrant", "vigilant", "wizardly",
        "wonderful", "xenodochial", "youthful", "zealous", "zen",
    ];

    private static readonly string[] Right =
    [
        "albattani", "allen", "archimedes", "ardinghelli", "babbage", "banach", "bardeen", "bartik", "bell", "blackwell",
        "bohr", "booth", "borg", "bose", "brattain", "brown", "carson", "cerf", "chandrasekhar", "clarke", "curie",
        "darwin", "davinci", "dijkstra", "einstein", "elion", "euclid", "euler", "fermat", "fermi", "feynman", "franklin",
        "galileo", "gauss", "goldberg", "goodall", "hamilton", "hawking", "heisenberg", "hopper", "hypatia", "jang",
        "johnson", "kepler", "knuth", "lamport", "leakey", "lovelace", "mahavira", "mayer", "mccarthy", "mcclintock",
        "meitner", "mendel", "morse", "napier", "newton", "nobel", "noether", "pascal", "pasteur", "perlman", "pike",
        "poincare", "ride", "ritchie", "shannon", "shockley", "sinoussi", "stonebraker", "swartz", "tesla", "thompson",
        "torvalds", "turing", "wescoff", "wiles", "williams", "wozniak", "wright", "yalow", "yonath",
    ];

    public static string Next(int retry)
    {
        string name = $"{Left[SecureRandom.GetInt32(Left.Length)]}_{Right[SecureRandom.GetInt32(Right.Length)]}";
        return retry > 0 ? name + SecureRandom.GetInt32(10) : name;
    }
}
