using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// Every kernel of every op's nested Ilgpu class compiles to PTX for sm_90 (H100), without a GPU: what the CPU
/// simulator accepts but CUDA would not (a construct the PTX backend lacks, an intrinsic that needs EnableAlgorithms)
/// fails here, in CI, rather than on the first GPU run.
/// </summary>
public class PtxCompilationTests
{
    public static IEnumerable<TestCaseData> Kernels() =>
        from type in typeof(IOps<>).Assembly.GetTypes()
        where type.Name == "Ilgpu" && type.DeclaringType is not null
        from method in type.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly)
        where method.Name.EndsWith("Kernel", StringComparison.Ordinal)
        select new TestCaseData(method).SetArgDisplayNames($"{type.DeclaringType!.Name}.{method.Name}");

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
    }
}
