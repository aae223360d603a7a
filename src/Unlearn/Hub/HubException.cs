namespace SimNpo.Unlearn.Hub;

/// <summary>A Hub request or cache lookup that failed, with a message a user can act on (an IOException: reported as one line, exit 1).</summary>
public class HubException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>The Hub could not be reached at all (no network, DNS, refused): the cache may still answer.</summary>
public sealed class HubUnreachableException(string message, Exception? inner = null) : HubException(message, inner);
