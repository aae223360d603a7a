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
            throw new InvalidOperationException(
                $"generic kernel {method.DeclaringType}.{method.Name}: its type parameters are not (TWord, TStored) pairs; say here how to instantiate it");
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
        foreach (var (op, kernel) in new[] { (typeof(GatedActivation), "BackwardKernel"), (typeof(RmsNorm), "InputGradKernel"),
            (typeof(KlDivergence), "ForwardKernel") })
            Assert.That(compiled.Where(m => m.DeclaringType!.DeclaringType == op && m.Name == kernel).Select(m => m.GetGenericArguments()[1]),
                Is.EquivalentTo(new[] { typeof(Float32Words), typeof(BFloat16Words) }), $"{op.Name}.{kernel}");
    }

    /// <summary>Where <c>tools/gpu/ptxas-check.sh</c> collects each kernel's PTX (in ISA 7.8, which its ptxas 11.8 reads); unset, nothing is written.</summary>
    public const string PtxFolderVariable = "SIMNPO_PTX_DIR";

    [TestCaseSource(nameof(Kernels))]
    public void CompilesToPtx(MethodInfo kernel)
    {
        var ptx = Compile(kernel, CudaInstructionSet.ISA_83);
        // ILGPU 1.5.3 writes sm_80 code for sm_90 (the driver runs it as is); what matters is that an entry came out.
        Assert.That(ptx, Does.Contain(".entry "));
        var denormals = ZeroExponentFloatImmediate().Matches(ptx).Select(m => m.Value)
            .Where(value => value is not ("0f00000000" or "0f80000000")).ToArray();
        Assert.That(denormals, Is.Empty, "float immediates that are integer bits: write the constants as floats (1f, not 1)");
        if (Environment.GetEnvironmentVariable(PtxFolderVariable) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, $"{kernel.DeclaringType!.FullName!.Split('.')[^1].Replace('+', '.')}.{kernel.Name}.ptx"),
                Compile(kernel, CudaInstructionSet.ISA_78));
        }
    }

    /// <summary>
    /// The tensor-core GEMM reaches the instructions it exists for: its inline PTX names ILGPU 1.5.3's dynamic shared memory
    /// symbol (__dyn_shared_alloca), which a later ILGPU may rename; then ptxas would reject the kernel, and this fails first.
    /// </summary>
    [Test]
    public void TensorCoreGemmUsesMmaCpAsyncAndLdmatrix()
    {
        var kernel = typeof(TensorCoreGemm).GetMethod("GemmKernel", BindingFlags.Static | BindingFlags.NonPublic)!;
        var ptx = Compile(kernel, CudaInstructionSet.ISA_83);
        Assert.That(ptx, Does.Contain(".shared .align 16 .b8 __dyn_shared_alloca[]"), "the dynamic shared memory the inline PTX addresses");
        Assert.That(ptx, Does.Contain("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        Assert.That(ptx, Does.Contain("cp.async.cg.shared.global"));
        Assert.That(ptx, Does.Contain("ldmatrix.sync.aligned.m8n8.x4.shared.b16").And.Contain("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"));
    }

    private static string Compile(MethodInfo kernel, CudaInstructionSet instructionSet)
    {
        using var context = Context.Create(builder => builder.Cuda().EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, instructionSet, null);
        var implicitlyGrouped = kernel.GetParameters()[0].ParameterType == typeof(Index1D);
        var entry = implicitlyGrouped ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel) : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        return ((PTXCompiledKernel)backend.Compile(entry, default)).PTXAssembly;
    }
}
