using System.Reflection;

namespace SimNpo.Tests;

/// <summary>
/// A fixture whose setup stops early (a shared file missing on a fresh clone ignores it from there, see SharedFiles)
/// still has its teardown run by NUnit; a teardown that then throws turns a clean run into a failed one with no test
/// failing. Every teardown of the suite is run here on a fixture whose setup never ran.
/// </summary>
public class FixtureTearDownTests
{
    [Test]
    public void EveryOneTimeTearDownSurvivesASetUpThatNeverRan()
    {
        var fixtures = typeof(FixtureTearDownTests).Assembly.GetTypes()
            .Where(type => type is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false } && TearDowns(type).Any())
            .ToArray();
        Assert.That(fixtures.Select(type => type.Name), Does.Contain("EvalCommandTests"));
        foreach (var type in fixtures)
        foreach (var arguments in type.GetCustomAttributes<TestFixtureAttribute>().Select(fixture => fixture.Arguments).DefaultIfEmpty([]))
        {
            var fixture = Activator.CreateInstance(type, arguments)!;
            foreach (var tearDown in TearDowns(type))
                Assert.DoesNotThrow(() => tearDown.Invoke(fixture, null), $"{type.Name}.{tearDown.Name}({string.Join(", ", arguments)})");
        }
    }

    private static IEnumerable<MethodInfo> TearDowns(Type type) =>
        type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Where(method => method.IsDefined(typeof(OneTimeTearDownAttribute),
            inherit: true));
}
