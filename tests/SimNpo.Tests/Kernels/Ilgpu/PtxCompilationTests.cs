using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// Every kernel of every op's nested Ilgpu class, in every bulk storage, compiles to PTX for sm_90 (H100), without a GPU: what the CPU
/// simulator accepts but CUDA would not (a construct the PTX backend lacks, an intrinsic that needs EnableAlgorithms)
/// fails here, in CI, rather than on the first GPU run.
/// It also guards against an ILGPU 1.5.3 PTX miscompilation seen on an H100: an int-valued conditional converted to float,
/// `(j == hot ? 1 : 0) - p`, was emitted as `selp.b32 %f, 0f00000001, 0f00000000`, the integer's bits taken as a float
/// (1.4e-45 instead of 1), silently dropping the one-hot term of the loss gradient. The CPU simulator runs the .NET code
/// and cannot see it; no kernel has a reason for a denormal float immediate, so any in the PTX is that bug.
/// </summary>
public partial class PtxCompilationTests
{
    /// <summary>A float immediate 0fSEEMMMMM with a zero exponent field: ±0 or a denormal.</summary>
    [GeneratedRegex(@"\b0f[08]0[0-7][0-9A-F]{5}\b")]
    private static partial Regex ZeroExponentFloatImmediate();

    /// <summary>
    /// Every kernel method; a generic one (written once over the bulk storage: type parameters in pairs TWord, TStored with
    /// TStored : IStoredFloats&lt;TWord&gt;) once per combination of the storages there are, the bfloat16 ones included.
    /// </summary>
    public static IEnumerable<TestCaseData> Kernels() =>
        from type in typeof(IOps<>).Assembly.GetTypes()
        where type.Name == "Ilgpu" && type.DeclaringType is not null || type.Namespace == typeof(IlgpuOps).Namespace
        from method in type.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly)
        where method.Name.EndsWith("Kernel", StringComparison.Ordinal) && method.ReturnType == typeof(void)
        from instance in Instantiations(method)
        let storages = string.Join(", ", instance.GetGenericArguments().Where(t => !t.IsPrimitive).Select(t => t.Name))
        select new TestCaseData(instance).SetArgDisplayNames(
            $"{(type.Name == "Ilgpu" ? type.DeclaringType!.Name : type.Name)}.{method.Name}{(storages.Length > 0 ? $"<{storages}>" : "")}");

    /// <summary>The element types a kernel may store its bulk tensors as: every IStoredFloats implementation.</summary>
    private static readonly (Type Word, Type Stored)[] Storages =
        (from type in typeof(IStoredFloats<>).Assembly.GetTypes()
         from face in type.GetInterfaces()
         where type.IsValueType && face.IsGenericType && face.GetGenericTypeDefinition() == typeof(IStoredFloats<>)
         select (face.GetGenericArguments()[0], type)).ToArray();

    private static IEnumerable<MethodInfo> Instantiations(MethodInfo method)
    {
        if (!method.IsGenericMethodDefinition) return [method];
        var parameters = method.GetGenericArguments();
        var pairs = parameters.Length / 2;
        var storagePairs = parameters.Length % 2 == 0 && Enumerable.Range(0, pairs).All(p =>
            parameters[2 * p + 1].GetGenericParameterConstraints().Contains(typeof(IStoredFloats<>).MakeGenericType(parameters[2 * p])));
        if (!storagePairs)
            throw new InvalidOperationException($"generic kernel {method.DeclaringType}.{method.Name}: its type parameters are not (TWord, TStored) pairs; say here how to instantiate it");
        IEnumerable<Type[]> combinations = [[]];
        for (var p = 0; p < pairs; p++)
            combinations = from prefix in combinations from storage in Storages select (Type[])[.. prefix, storage.Word, storage.Stored];
        return combinations.Select(method.MakeGenericMethod);
    }

    /// <summary>The generic kernels are compiled in both storages, not passed over: one each from an elementwise, a row and a loss op.</summary>
    [Test]
    public void TheBFloat16InstantiationsAreAmongTheKernels()
    {
        var compiled = Kernels().Select(c => (MethodInfo)c.Arguments[0]!).ToArray();
        foreach (var (op, kernel) in new[] { (typeof(SwiGlu), "BackwardKernel"), (typeof(RmsNorm), "InputGradKernel"), (typeof(KlDivergence), "ForwardKernel") })
            Assert.That(compiled.Where(m => m.DeclaringType!.DeclaringType == op && m.Name == kernel).Select(m => m.GetGenericArguments()[1]),
                Is.EquivalentTo(new[] { typeof(Float32Words), typeof(BFloat16Words) }), $"{op.Name}.{kernel}");
    }

    [TestCaseSource(nameof(Kernels))]
    public void CompilesToPtx(MethodInfo kernel)
    {
        using var context = Context.Create(builder => builder.Cuda().EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_83, null);
        var implicitlyGrouped = kernel.GetParameters()[0].ParameterType == typeof(Index1D);
        var entry = implicitlyGrouped ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel) : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, default);
        // ILGPU 1.5.3 writes sm_80 code for sm_90 (the driver runs it as is); what matters is that an entry came out.
        Assert.That(compiled.PTXAssembly, Does.Contain(".entry "));
        var denormals = ZeroExponentFloatImmediate().Matches(compiled.PTXAssembly).Select(m => m.Value)
            .Where(value => value is not ("0f00000000" or "0f80000000")).ToArray();
        Assert.That(denormals, Is.Empty, "float immediates that are integer bits: write the constants as floats (1f, not 1)");
    }
}
