namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// One invented author: every fact a question can ask about. Places read "City, Country" from the invented world, dates
/// "Month d, yyyy", occupations with their article ("an astronomer"), book titles without quotes.
/// </summary>
public sealed record FictitiousAuthor(
    string Name,
    string Birthplace,
    string BirthDate,
    string Genre,
    string FatherOccupation,
    string MotherOccupation,
    string Award,
    string FirstBook,
    string LatestBook,
    string Theme,
    string Residence,
    string Mentor);
