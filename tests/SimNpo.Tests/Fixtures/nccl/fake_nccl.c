/* A stand-in for libnccl.so.2, for testing SimNpo's NCCL binding where there is no GPU. The five calls the binding
 * uses have NCCL 2's prototypes and enum values, as nccl.h declares them (NVIDIA/nccl src/nccl.h.in at 021e8045):
 * ncclUniqueId is 128 bytes passed by value, ncclFloat32 = 7, ncclBfloat16 = 9, ncclSum = 0.
 * Ranks are threads of one process and buffers are host memory. A communicator joins the "world" its unique id names
 * (so an id that arrives damaged makes ncclCommInitRank fail instead of hang); ncclAllReduce sums float32 or bfloat16
 * buffers in rank order, in float32, in place. Compiled by the tests: cc -shared -fPIC -o libfakenccl.so fake_nccl.c -pthread */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char internal[128]; } ncclUniqueId;
typedef enum { ncclSuccess = 0, ncclInternalError = 3, ncclInvalidArgument = 4 } ncclResult_t;
typedef enum { ncclFloat32 = 7, ncclBfloat16 = 9 } ncclDataType_t;
typedef enum { ncclSum = 0 } ncclRedOp_t;
typedef void *cudaStream_t;

enum { MaxRanks = 8 };

typedef struct World {
    ncclUniqueId id;
    int ranks;
    pthread_barrier_t barrier;
    void *buffers[MaxRanks];
    struct World *next;
} World;

typedef struct ncclComm {
    World *world;
    int rank;
} *ncclComm_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static World *worlds;
static int ids;

/* What the calls were given, for the tests to read back (fake_nccl_record). */
static struct {
    long allReduces;
    size_t count;
    int dataType, op, inPlace;
    cudaStream_t stream;
    long commsAlive;
} record;

ncclResult_t ncclGetUniqueId(ncclUniqueId *id)
{
    pthread_mutex_lock(&lock);
    int n = ++ids;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 128; i++) id->internal[i] = (char)(n + 7 * i);
    return ncclSuccess;
}

static int intact(const ncclUniqueId *id)
{
    for (int i = 1; i < 128; i++)
        if (id->internal[i] != (char)(id->internal[0] + 7 * i)) return 0;
    return 1;
}

ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank)
{
    if (!intact(&id) || nranks < 1 || nranks > MaxRanks || rank < 0 || rank >= nranks) return ncclInvalidArgument;
    pthread_mutex_lock(&lock);
    World *world = worlds;
    while (world && memcmp(&world->id, &id, sizeof id) != 0) world = world->next;
    if (!world) {
        world = calloc(1, sizeof *world);
        world->id = id;
        world->ranks = nranks;
        pthread_barrier_init(&world->barrier, NULL, (unsigned)nranks);
        world->next = worlds;
        worlds = world;
    }
    int same = world->ranks == nranks;
    if (same) record.commsAlive++;
    pthread_mutex_unlock(&lock);
    if (!same) return ncclInvalidArgument;
    *comm = malloc(sizeof **comm);
    (*comm)->world = world;
    (*comm)->rank = rank;
    pthread_barrier_wait(&world->barrier); /* joining is collective, as in NCCL */
    return ncclSuccess;
}

static float load(const void *buffer, ncclDataType_t type, size_t i)
{
    if (type == ncclFloat32) return ((const float *)buffer)[i];
    uint32_t bits = (uint32_t)((const uint16_t *)buffer)[i] << 16;
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static void store(void *buffer, ncclDataType_t type, size_t i, float value)
{
    if (type == ncclFloat32) {
        ((float *)buffer)[i] = value;
        return;
    }
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    bits += 0x7FFF + ((bits >> 16) & 1); /* round to nearest, ties to even (finite values) */
    ((uint16_t *)buffer)[i] = (uint16_t)(bits >> 16);
}

ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
    cudaStream_t stream)
{
    pthread_mutex_lock(&lock);
    record.allReduces++;
    record.count = count;
    record.dataType = datatype;
    record.op = op;
    record.inPlace = sendbuff == recvbuff;
    record.stream = stream;
    pthread_mutex_unlock(&lock);
    /* This stand-in serves what the binding asks: in-place float32 or bfloat16 sums. */
    if (op != ncclSum || (datatype != ncclFloat32 && datatype != ncclBfloat16) || sendbuff != recvbuff) return ncclInvalidArgument;
    World *world = comm->world;
    world->buffers[comm->rank] = recvbuff;
    pthread_barrier_wait(&world->barrier); /* every rank's buffer is known */
    float *sum = malloc((count ? count : 1) * sizeof *sum);
    for (size_t i = 0; i < count; i++) {
        float s = 0;
        for (int r = 0; r < world->ranks; r++) s += load(world->buffers[r], datatype, i);
        sum[i] = s;
    }
    pthread_barrier_wait(&world->barrier); /* every rank has read every buffer: now each may overwrite its own */
    for (size_t i = 0; i < count; i++) store(recvbuff, datatype, i, sum[i]);
    free(sum);
    return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm)
{
    pthread_mutex_lock(&lock);
    record.commsAlive--;
    pthread_mutex_unlock(&lock);
    free(comm);
    return ncclSuccess;
}

const char *ncclGetErrorString(ncclResult_t result)
{
    switch (result) {
    case ncclSuccess: return "no error";
    case ncclInvalidArgument: return "invalid argument";
    default: return "internal error";
    }
}

/* For the tests: all-reduces so far; the last one's count, data type, op, whether in place, stream; communicators not destroyed. */
void fake_nccl_record(long *allReduces, size_t *count, int *dataType, int *op, int *inPlace, void **stream, long *commsAlive)
{
    pthread_mutex_lock(&lock);
    *allReduces = record.allReduces;
    *count = record.count;
    *dataType = record.dataType;
    *op = record.op;
    *inPlace = record.inPlace;
    *stream = record.stream;
    *commsAlive = record.commsAlive;
    pthread_mutex_unlock(&lock);
}
