/* The matching automaton's hot loop, over tables laid out for the CPU cache.
 *
 * `machine.py` walks the automaton's `Node`s in Python. With thousands of rules most of that walk's
 * time is cache misses: each lookup in a CPython dict reads its index slot, its entry, the key
 * string (to compare it) and the value object, four lines in different places. Here each table is
 * one array of 32-byte slots holding the key's hash, its characters (inline up to 16 bytes, which
 * covers the usual skill, queue and agent names) and a step code: a hit reads one line. The walk
 * itself is the same as `Machine.match_into`'s (`native.py` lays the automaton out and says how
 * the codes map to it), and the Python walk stays the reference: the tests hold both to the slow
 * evaluator written from the pattern language's definition.
 *
 * The lookups of a state are hashed and their slots requested together, the event's values at the
 * start, and rule ids as they are found (they are added to the result at the end), so that the
 * walk waits for memory a few times per event rather than once per object it reads.
 *
 * Strings are hashed and compared as the bytes of their narrowest PEP 393 kind, so a prefix cut out
 * of a wide string finds a narrow key. Values other than strings never equal a key (the Python
 * tables hold the same: strings, and `MISSING` kept apart here). Paths with other operators are
 * `typed` edges (`Typed`: numbers, IPv4 blocks, suffixes, case folding, anything-but...) where
 * `native.py` can lay them out, and otherwise call back into their Python `ValueIndex`.
 *
 * Built once, never changed: safe to share between threads (the walk holds the GIL throughout).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A step code: a tag in the low 3 bits, an index (or a length) above it. 0 is "nothing". */
enum { T_NONE = 0, T_RULE = 1, T_GROUP = 2, T_NODE = 3, T_FORK = 4, T_LENGTH = 5, T_TAILS = 6 };
#define TAG(code) ((code) & 7u)
#define ARG(code) ((code) >> 3)
#define MAX_ARG ((1u << 29) - 1)

#define INLINE_BYTES 16
#define PREPARED 16 /* edges per state whose lookups are prepared together */
#define PREFETCHED_VALUES 64
#define MAX_KEY_CHARS 0xFFFF

#define POOLED 1 /* the key's characters are in the table's pool, at `at.offset` */
#define RULE 2   /* the step ends one rule: `step.rule` is its id (no read of `names` on the way) */

#define OTHER_EDGE (-1) /* an edge's `first`: its Python `ValueIndex` is called */
#define TYPED_EDGE (-2) /* an edge's `first`: `Typed`, looked up here */

typedef struct {
    uint32_t hash;   /* 0: an empty slot (real hashes are made odd) */
    uint16_t length; /* in code points */
    uint8_t kind;    /* PEP 393 kind of the stored characters: 1, 2 or 4 bytes each */
    uint8_t flags;
    union {
        uint64_t code;
        PyObject *rule; /* borrowed: `names` holds it */
    } step;
    union {
        unsigned char bytes[INLINE_BYTES];
        uint32_t offset;
    } at;
} Slot; /* 32 bytes, tables aligned to 64: a slot never straddles two cache lines */

typedef struct {
    Slot *slots; /* NULL: no table */
    unsigned char *pool;
    uint64_t mask;
} Table;

/* A table probed at each of its keys' distinct lengths: prefixes, suffixes, wildcard heads and
 * tails (an `other` index's, where no `automaton._links` chain was built for them). */
typedef struct {
    Table table;
    uint16_t *lengths; /* ascending */
    uint32_t count;
} Probed;

/* An anything-but leaf: its code, taken for a present value that none of its excluded strings,
 * prefixes, suffixes or numbers matches. The tables only hold keys (their codes are never taken). */
typedef struct But {
    uint32_t code;
    Table strings;
    Table folded; /* equals-ignore-case exclusions (folded) */
    Probed prefixes, suffixes;
    double *numbers;
    uint32_t number_count;
} But;

/* A path whose leaves use other operators than exact strings and prefixes, laid out here rather
 * than asked of its Python `ValueIndex` (a call, and a few microseconds of Python, per event):
 * exact strings, booleans and null, prefixes, suffixes, `head*tail` wildcards, equals-ignore-case,
 * IPv4 CIDR blocks, numbers (exact values and ranges), `exists`, and anything-but of those. A value
 * only Python can decide (an integer beyond 2**53, a string that is not ASCII where case is folded,
 * one with a ':' where the path has IPv6 blocks) goes to the index's `one`, the edge's fallback.
 * Paths with other wildcards keep their Python index (`native.py` decides). */
typedef struct {
    uint32_t any_value;  /* code for every value present (`exists: true`), 0: none */
    uint32_t any_string; /* code for every string (`prefix: ""`, `*`) */
    Table exact;         /* string values */
    Probed prefixes, suffixes;
    Probed heads; /* wildcards `head*tail` by head: a slot's code is T_TAILS, an index in `tails` */
    Probed *tails;
    uint32_t tail_count;
    uint32_t specials[3]; /* codes for true, false and null */
    int fold;             /* case-insensitive entries: ASCII strings are lowered here, others go to Python */
    Table folded;         /* equals-ignore-case values (folded) */
    Probed folded_prefixes, folded_suffixes;
    int ipv6; /* the path has IPv6 blocks: strings with a ':' go to Python */
    Table cidr; /* keys of 5 Latin-1 characters: the mask length, then the masked IPv4 address */
    uint8_t plens[33];
    uint32_t plen_count;
    struct But *buts;  /* anything-but leaves: each matches every value none of its exclusions match */
    uint32_t but_count;
    int numbers;       /* numbers are looked up (else they match nothing here) */
    uint32_t bound_count;
    double *bounds;    /* ascending, each exact as a double */
    uint32_t *regions; /* 2 * bound_count + 1: the gap below bounds[i] is 2i, bounds[i] itself 2i + 1 */
} Typed;

/* An edge holds copies of its tables' headers, and is one cache line: visiting a state reads its
 * edges and then the slots, with nothing between. */
typedef struct {
    union {
        struct {
            Table exact;
            Table links;
        } strings;
        struct {
            PyObject *one; /* `ValueIndex.one`, `.absent` and `.collect` */
            PyObject *absent;
            PyObject *collect;
        } other;
        struct {
            Typed *typed;
            PyObject *fallback; /* `ValueIndex.one`, for what only Python decides (NULL: nothing) */
        } typed;
    } u;
    uint32_t pid;
    int32_t first;    /* -1: `other` (a Python `ValueIndex`); -2: `typed`; 0: no prefixes; else the first cut */
    uint32_t missing; /* the code `MISSING` (a path the event lacks) looks up in `exact` */
    uint32_t padding; /* (to 64 bytes) */
} Edge;

_Static_assert(sizeof(Slot) == 32, "a slot is half a cache line");
_Static_assert(sizeof(void *) != 8 || sizeof(Edge) == 64, "an edge is one cache line");

typedef struct {
    uint32_t start; /* into `edges` */
    uint32_t count;
} NodeSpan;

typedef struct {
    uint32_t rules_start; /* into `group_items` */
    uint32_t rules_count;
    uint32_t nodes_start; /* into `fork_nodes` */
    uint32_t nodes_count;
    int64_t after;
} ForkInfo;

typedef struct {
    PyObject_HEAD
    PyObject *names;      /* tuple: rule ids, by index */
    PyObject *missing;    /* the `MISSING` sentinel */
    PyObject *many;       /* the `Many` type: several values at one path */
    PyObject *node_index; /* dict: `Node` -> its index, for the targets `other` edges return */
    Py_ssize_t width;
    uint32_t root;
    Table *tables;
    Py_ssize_t table_count;
    Edge *edges;
    Py_ssize_t edge_count;
    Py_ssize_t python_edges; /* `other` edges, which call their Python `ValueIndex` */
    NodeSpan *nodes;
    Py_ssize_t node_count;
    uint32_t *group_starts; /* group g is group_items[group_starts[g] .. group_starts[g + 1]] */
    PyObject **group_items; /* rule ids (borrowed: `names` holds them) */
    Py_ssize_t group_count;
    ForkInfo *forks;
    Py_ssize_t fork_count;
    uint32_t *fork_nodes;
} Program;

/* Strings are hashed and compared as bytes. PEP 393 stores a string in the narrowest kind (1, 2
 * or 4 bytes per code point) that holds all of its code points, so equal strings have equal kinds
 * and equal bytes. Keys are stored that way; a probe cut from a wider string (a Latin-1 prefix of
 * a string with a euro sign further on) is narrowed first (`Probe`), which only wide strings pay. */

static inline uint64_t
mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* Eight bytes at a time, then a finalizer so that the low bits (the slot) mix well; never 0. */
static inline uint32_t
hash_bytes(const unsigned char *p, size_t size)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ size;
    uint64_t word;
    if (size < 8) { /* (a fixed-size copy is one load; a variable one is a call) */
        word = 0;
        for (size_t i = 0; i < size; i++) {
            word |= (uint64_t)p[i] << (8 * i);
        }
        return (uint32_t)mix((h ^ word) * 0x94d049bb133111ebull) | 1u;
    }
    const unsigned char *last = p + size - 8;
    for (; p < last; p += 8) {
        memcpy(&word, p, 8);
        h = (h ^ word) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    memcpy(&word, last, 8); /* the last eight bytes, overlapping the previous word if need be */
    h = (h ^ word) * 0x94d049bb133111ebull;
    return (uint32_t)mix(h) | 1u;
}

static inline const unsigned char *
slot_chars(const Table *t, const Slot *s)
{
    return s->flags & POOLED ? t->pool + s->at.offset : s->at.bytes;
}

/* memcmp(a, b, size) == 0 without the call, for the short keys tables mostly hold. */
static inline int
same_bytes(const unsigned char *a, const unsigned char *b, size_t size)
{
    if (size >= 8) {
        uint64_t x, y;
        for (size_t i = 0; i + 8 < size; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y) {
                return 0;
            }
        }
        memcpy(&x, a + size - 8, 8);
        memcpy(&y, b + size - 8, 8);
        return x == y;
    }
    if (size >= 4) {
        uint32_t x1, y1, x2, y2;
        memcpy(&x1, a, 4);
        memcpy(&y1, b, 4);
        memcpy(&x2, a + size - 4, 4);
        memcpy(&y2, b + size - 4, 4);
        return x1 == y1 && x2 == y2;
    }
    for (size_t i = 0; i < size; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

/* The slot of the `n` code points in `bytes` (`size` bytes of `kind`), whose hash is `h`, or NULL. */
static inline const Slot *
lookup_hashed(const Table *t, uint32_t h, int kind, const void *bytes, size_t size, Py_ssize_t n)
{
    uint64_t i = h & t->mask;
    for (;;) {
        const Slot *s = &t->slots[i];
        if (s->hash == 0) {
            return NULL;
        }
        if (s->hash == h && s->length == n && s->kind == kind && same_bytes(slot_chars(t, s), bytes, size)) {
            return s;
        }
        i = (i + 1) & t->mask;
    }
}

/* The first `n` code points of a string of `kind`, in the narrowest kind that holds them. */
typedef struct {
    int kind;
    const unsigned char *bytes;
    size_t size;
    unsigned char *owned;
    unsigned char local[256];
} Probe;

static int
probe_init(Probe *probe, int kind, const void *data, Py_ssize_t n)
{
    Py_UCS4 widest = 0;
    probe->owned = NULL;
    if (kind != PyUnicode_1BYTE_KIND) {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            widest = c > widest ? c : widest;
        }
    }
    int narrow = widest > 0xFFFF ? PyUnicode_4BYTE_KIND : widest > 0xFF ? PyUnicode_2BYTE_KIND : PyUnicode_1BYTE_KIND;
    probe->kind = narrow;
    probe->size = (size_t)n * (size_t)narrow;
    if (narrow == kind) {
        probe->bytes = data;
        return 0;
    }
    unsigned char *buffer = probe->local;
    if (probe->size > sizeof(probe->local)) {
        buffer = probe->owned = PyMem_Malloc(probe->size);
        if (buffer == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyUnicode_WRITE(narrow, buffer, i, PyUnicode_READ(kind, data, i));
    }
    probe->bytes = buffer;
    return 0;
}

/* The slot of the first `n` code points of a string, or NULL (with an error set if -1). `h` is
 * their hash if known (a 1-byte string's, from `prepare`), else 0. */
static inline int
find(const Table *t, int kind, const void *data, Py_ssize_t n, uint32_t h, const Slot **slot)
{
    if (kind == PyUnicode_1BYTE_KIND) {
        *slot = lookup_hashed(t, h ? h : hash_bytes(data, (size_t)n), kind, data, (size_t)n, n);
        return 0;
    }
    Probe probe;
    if (probe_init(&probe, kind, data, n) < 0) {
        return -1;
    }
    *slot = lookup_hashed(t, hash_bytes(probe.bytes, probe.size), probe.kind, probe.bytes, probe.size, n);
    PyMem_Free(probe.owned);
    return 0;
}

/* `count` zeroed items of `size` (at least one, so that NULL only ever means no memory). */
static void *
zeroed(Py_ssize_t count, size_t size)
{
    void *items = PyMem_Calloc((size_t)(count > 0 ? count : 1), size);
    if (items == NULL) {
        PyErr_NoMemory();
    }
    return items;
}

/* The same, aligned to a cache line; `size` * `count` must be a multiple of 64. Freed with free(). */
static void *
zeroed_lines(Py_ssize_t count, size_t size)
{
    size_t bytes = (size_t)(count > 0 ? count : 1) * size;
    void *items = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (items == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    return memset(items, 0, bytes);
}

/* A growable array (of node indices, or of rule ids), on the C stack while it is small. */
typedef struct {
    uintptr_t *items;
    Py_ssize_t size, capacity;
    uintptr_t local[64];
} Buffer;

static void
buffer_init(Buffer *b)
{
    b->items = b->local;
    b->size = 0;
    b->capacity = 64;
}

static void
buffer_free(Buffer *b)
{
    if (b->items != b->local) {
        PyMem_Free(b->items);
    }
}

static int
push(Buffer *b, uintptr_t item)
{
    if (b->size == b->capacity) {
        Py_ssize_t capacity = b->capacity * 2;
        uintptr_t *items;
        if (b->items == b->local) {
            items = PyMem_Malloc((size_t)capacity * sizeof(uintptr_t));
            if (items != NULL) {
                memcpy(items, b->local, sizeof(b->local));
            }
        }
        else {
            items = PyMem_Realloc(b->items, (size_t)capacity * sizeof(uintptr_t));
        }
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->items = items;
        b->capacity = capacity;
    }
    b->items[b->size++] = item;
    return 0;
}

/* One walk: the states still to visit, and the ids of the rules found so far.
 *
 * Rule ids are added to the result set at the end rather than as they are found, and each is
 * prefetched when found: adding one reads the id's `str` object (its hash, its reference count),
 * which with thousands of rules is usually out of the CPU cache; fetched one after the other, a
 * few ids cost more than the rest of the walk. Requested together, their fetches overlap. */
typedef struct {
    const Program *p;
    Buffer nodes;
    Buffer found;
    uint64_t *seen; /* with several values at a path: the states reached, each walked once */
} Walk;

/* Go on to a state (once, where `seen` is kept), asking for its first edge already. */
static inline int
reach(Walk *w, uint32_t node)
{
    if (w->seen != NULL) {
        uint64_t bit = (uint64_t)1 << (node & 63);
        if (w->seen[node >> 6] & bit) {
            return 0;
        }
        w->seen[node >> 6] |= bit;
    }
    __builtin_prefetch(&w->p->edges[w->p->nodes[node].start]);
    return push(&w->nodes, node);
}

static inline int
found(Walk *w, PyObject *rule)
{
    __builtin_prefetch(rule, 1);
    return push(&w->found, (uintptr_t)rule);
}

static int
found_range(Walk *w, PyObject *const *rules, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (found(w, rules[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Record what a step ends and reaches. */
static int
take(Walk *w, uint32_t code)
{
    const Program *p = w->p;
    uint32_t arg = ARG(code);
    switch (TAG(code)) {
    case T_RULE:
        return found(w, PyTuple_GET_ITEM(p->names, arg));
    case T_NODE:
        return reach(w, arg);
    case T_GROUP:
        return found_range(w, &p->group_items[p->group_starts[arg]], p->group_starts[arg + 1] - p->group_starts[arg]);
    case T_FORK: {
        const ForkInfo *f = &p->forks[arg];
        if (found_range(w, &p->group_items[f->rules_start], f->rules_count) < 0) {
            return -1;
        }
        for (uint32_t i = 0; i < f->nodes_count; i++) {
            if (reach(w, p->fork_nodes[f->nodes_start + i]) < 0) {
                return -1;
            }
        }
        return 0;
    }
    default:
        return 0;
    }
}

static inline int
take_slot(Walk *w, const Slot *s)
{
    return s->flags & RULE ? found(w, s->step.rule) : take(w, (uint32_t)s->step.code);
}

/* Record the `Hit`s, (rule ids, nodes) pairs, a `ValueIndex` returned in the list `hits`. The ids
 * are held by the index's targets, which live as long as the program: borrowing them in `found`
 * until the walk ends is safe. */
static int
take_hits(Walk *w, PyObject *hits)
{
    const Program *p = w->p;
    int status = 0;
    for (Py_ssize_t i = 0; status == 0 && i < PyList_GET_SIZE(hits); i++) {
        PyObject *hit = PyList_GET_ITEM(hits, i);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(hit, 0))
            || !PyTuple_Check(PyTuple_GET_ITEM(hit, 1))) {
            PyErr_SetString(PyExc_TypeError, "a Hit must be a (rule ids, nodes) pair of tuples");
            return -1;
        }
        PyObject *ends = PyTuple_GET_ITEM(hit, 0), *targets = PyTuple_GET_ITEM(hit, 1);
        for (Py_ssize_t j = 0; status == 0 && j < PyTuple_GET_SIZE(ends); j++) {
            status = found(w, PyTuple_GET_ITEM(ends, j));
        }
        for (Py_ssize_t j = 0; status == 0 && j < PyTuple_GET_SIZE(targets); j++) {
            PyObject *index = PyDict_GetItemWithError(p->node_index, PyTuple_GET_ITEM(targets, j));
            if (index == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_KeyError, "a Hit reaches a node the program does not have");
                }
                return -1;
            }
            Py_ssize_t n = PyLong_AsSsize_t(index);
            if (n < 0 || n >= p->node_count) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_ValueError, "a node index is out of range");
                }
                return -1;
            }
            status = reach(w, (uint32_t)n);
        }
    }
    return status;
}

/* Ask a Python `ValueIndex` (its `one`, or `collect` for a `Many`) and record what it finds. */
static int
ask_python(Walk *w, PyObject *probe, PyObject *value)
{
    PyObject *hits = PyList_New(0);
    if (hits == NULL) {
        return -1;
    }
    PyObject *none = PyObject_CallFunctionObjArgs(probe, value, hits, NULL);
    int status = none == NULL ? -1 : take_hits(w, hits);
    Py_XDECREF(none);
    Py_DECREF(hits);
    return status;
}

/* An `other` edge: its `ValueIndex` finds the `Hit`s. */
static int
take_other(Walk *w, const Edge *e, PyObject *value)
{
    const Program *p = w->p;
    if (value == p->missing) {
        PyObject *absent = Py_NewRef(e->u.other.absent); /* (held: Python code may run) */
        int status = take_hits(w, absent);
        Py_DECREF(absent);
        return status;
    }
    return ask_python(w, Py_IS_TYPE(value, (PyTypeObject *)p->many) ? e->u.other.collect : e->u.other.one, value);
}

/* Each key length of `probed` that fits in `n` code points, starting at `data` (prefixes) or
 * ending at its `n`th code point (suffixes), looked up: every slot found is taken (`w`), or, without
 * a walk, the first one found ends the search. 1 if some key was found, 0 if none, -1 on error. */
static int
take_probed(Walk *w, const Probed *probed, int kind, const unsigned char *data, Py_ssize_t n, int at_end)
{
    int any = 0;
    for (uint32_t i = 0; i < probed->count && probed->lengths[i] <= n; i++) {
        Py_ssize_t length = probed->lengths[i];
        const Slot *s;
        if (find(&probed->table, kind, at_end ? data + (n - length) * kind : data, length, 0, &s) < 0) {
            return -1;
        }
        if (s != NULL) {
            if (w == NULL) {
                return 1;
            }
            if (take_slot(w, s) < 0) {
                return -1;
            }
            any = 1;
        }
    }
    return any;
}

/* Dotted-quad IPv4 as `ipaddress` reads it (four decimal octets of at most three ASCII digits, each
 * at most 255, without leading zeros): 1 and the address in `out`, or 0. */
static int
parse_ipv4(const unsigned char *text, Py_ssize_t n, uint32_t *out)
{
    uint32_t address = 0;
    Py_ssize_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= n || text[i] != '.') {
                return 0;
            }
            i++;
        }
        Py_ssize_t start = i;
        uint32_t value = 0;
        while (i < n && i - start < 4 && text[i] >= '0' && text[i] <= '9') {
            value = value * 10 + (uint32_t)(text[i] - '0');
            i++;
        }
        Py_ssize_t digits = i - start;
        if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && text[start] == '0')) {
            return 0;
        }
        address = address << 8 | value;
    }
    if (i != n) {
        return 0;
    }
    *out = address;
    return 1;
}

/* A string at a typed edge; `lowered`: its ASCII characters in lower case, where `t->fold`. */
static int
take_typed_string(Walk *w, const Typed *t, PyObject *value, const unsigned char *lowered)
{
    int kind = PyUnicode_KIND(value);
    const unsigned char *data = PyUnicode_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const Slot *s;
    if (t->any_string && take(w, t->any_string) < 0) {
        return -1;
    }
    if (t->exact.slots != NULL && n <= MAX_KEY_CHARS) {
        if (find(&t->exact, kind, data, n, 0, &s) < 0 || (s != NULL && take_slot(w, s) < 0)) {
            return -1;
        }
    }
    if (lowered != NULL) {
        if (t->folded.slots != NULL && n <= MAX_KEY_CHARS) {
            s = lookup_hashed(&t->folded, hash_bytes(lowered, (size_t)n), PyUnicode_1BYTE_KIND, lowered, (size_t)n, n);
            if (s != NULL && take_slot(w, s) < 0) {
                return -1;
            }
        }
        if (take_probed(w, &t->folded_prefixes, PyUnicode_1BYTE_KIND, lowered, n, 0) < 0
            || take_probed(w, &t->folded_suffixes, PyUnicode_1BYTE_KIND, lowered, n, 1) < 0) {
            return -1;
        }
    }
    if (take_probed(w, &t->prefixes, kind, data, n, 0) < 0 || take_probed(w, &t->suffixes, kind, data, n, 1) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < t->heads.count && t->heads.lengths[i] <= n; i++) {
        Py_ssize_t head = t->heads.lengths[i];
        if (find(&t->heads.table, kind, data, head, 0, &s) < 0) {
            return -1;
        }
        if (s != NULL) { /* the tails of the wildcards with this head, which must not overlap it */
            if (take_probed(w, &t->tails[ARG((uint32_t)s->step.code)], kind, data + head * kind, n - head, 1) < 0) {
                return -1;
            }
        }
    }
    uint32_t address;
    if (t->plen_count && kind == PyUnicode_1BYTE_KIND && parse_ipv4(data, n, &address)) {
        for (uint32_t i = 0; i < t->plen_count; i++) {
            uint32_t plen = t->plens[i];
            uint32_t net = plen ? address & (0xFFFFFFFFu << (32 - plen)) : 0;
            unsigned char key[5] = {(unsigned char)plen, (unsigned char)(net >> 24), (unsigned char)(net >> 16),
                                    (unsigned char)(net >> 8), (unsigned char)net};
            s = lookup_hashed(&t->cidr, hash_bytes(key, 5), PyUnicode_1BYTE_KIND, key, 5, 5);
            if (s != NULL && take_slot(w, s) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* The region of `x` (not NaN) among the bounds: 2i for the gap below bounds[i], 2i + 1 for it. */
static inline uint32_t
region_of(const Typed *t, double x)
{
    uint32_t lo = 0, hi = t->bound_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->bounds[mid] < x) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo < t->bound_count && t->bounds[lo] == x ? 2 * lo + 1 : 2 * lo;
}

/* Whether one of the leaf's exclusions matches `value` (`number`: it is the number `x`): 1, 0, -1. */
static int
but_excludes(const But *b, PyObject *value, int number, double x, const unsigned char *lowered)
{
    if (PyUnicode_CheckExact(value)) {
        int kind = PyUnicode_KIND(value);
        const unsigned char *data = PyUnicode_DATA(value);
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        if (b->folded.slots != NULL && lowered != NULL && n <= MAX_KEY_CHARS
            && lookup_hashed(&b->folded, hash_bytes(lowered, (size_t)n), PyUnicode_1BYTE_KIND, lowered, (size_t)n, n)
                   != NULL) {
            return 1;
        }
        if (b->strings.slots != NULL && n <= MAX_KEY_CHARS) {
            const Slot *s;
            if (find(&b->strings, kind, data, n, 0, &s) < 0) {
                return -1;
            }
            if (s != NULL) {
                return 1;
            }
        }
        int hit = take_probed(NULL, &b->prefixes, kind, data, n, 0);
        return hit != 0 ? hit : take_probed(NULL, &b->suffixes, kind, data, n, 1);
    }
    for (uint32_t i = 0; number && i < b->number_count; i++) {
        if (b->numbers[i] == x) {
            return 1;
        }
    }
    return 0; /* (booleans, null, NaN: no exclusion here equals them) */
}

/* Whether a string needs Python's answer: it may equal a case-insensitive entry but is not ASCII
 * (full Unicode case folding is Python's), or it may be an IPv6 address (`ipaddress` reads those). */
static inline int
needs_python(const Typed *t, PyObject *value)
{
    if (t->fold && !PyUnicode_IS_ASCII(value)) {
        return 1;
    }
    return t->ipv6 && PyUnicode_KIND(value) == PyUnicode_1BYTE_KIND
           && memchr(PyUnicode_1BYTE_DATA(value), ':', (size_t)PyUnicode_GET_LENGTH(value)) != NULL;
}

/* Everything but the string lookups of a typed edge, for one value. */
static int
take_typed_scalar(Walk *w, const Typed *t, PyObject *value, int number, double x, const unsigned char *lowered)
{
    if (t->any_value && take(w, t->any_value) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < t->but_count; i++) {
        int excluded = but_excludes(&t->buts[i], value, number, x, lowered);
        if (excluded < 0 || (!excluded && take(w, t->buts[i].code) < 0)) {
            return -1;
        }
    }
    if (number && t->numbers) {
        return take(w, t->regions[region_of(t, x)]);
    }
    int special = value == Py_True ? 0 : value == Py_False ? 1 : value == Py_None ? 2 : -1;
    return special >= 0 ? take(w, t->specials[special]) : 0;
}

/* One value at a typed edge's path (as `ValueIndex.one` would find: exact JSON types only). Values
 * whose answer needs Python's exact arithmetic or Unicode tables are given to the fallback whole. */
static int
take_typed_one(Walk *w, const Edge *e, PyObject *value)
{
    const Typed *t = e->u.typed.typed;
    int number = 0;
    double x = 0;
    if (PyUnicode_CheckExact(value)) {
        if (needs_python(t, value)) {
            return ask_python(w, e->u.typed.fallback, value);
        }
        if (!t->fold) {
            return take_typed_scalar(w, t, value, 0, 0, NULL) < 0 ? -1 : take_typed_string(w, t, value, NULL);
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        unsigned char local[256];
        unsigned char *lowered = n <= (Py_ssize_t)sizeof(local) ? local : PyMem_Malloc((size_t)n);
        if (lowered == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        const unsigned char *data = PyUnicode_1BYTE_DATA(value); /* (ASCII: `needs_python` said so) */
        for (Py_ssize_t i = 0; i < n; i++) {
            lowered[i] = data[i] >= 'A' && data[i] <= 'Z' ? (unsigned char)(data[i] + 32) : data[i];
        }
        int status = take_typed_scalar(w, t, value, 0, 0, lowered);
        if (status == 0) {
            status = take_typed_string(w, t, value, lowered);
        }
        if (lowered != local) {
            PyMem_Free(lowered);
        }
        return status;
    }
    if (PyFloat_CheckExact(value)) {
        x = PyFloat_AS_DOUBLE(value);
        number = !isnan(x); /* (no range holds NaN, and it equals nothing) */
    }
    else if (PyLong_CheckExact(value)) { /* (not a bool: a distinct JSON type) */
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (!overflow && v <= (1LL << 53) && v >= -(1LL << 53)) {
            x = (double)v;
            number = 1;
        }
        else if (e->u.typed.fallback != NULL) {
            /* not exact as a double, and some number here might equal it: Python compares exactly */
            return ask_python(w, e->u.typed.fallback, value);
        } /* (else no number here: it equals nothing, like NaN) */
    }
    return take_typed_scalar(w, t, value, number, x, NULL);
}

static int
take_typed(Walk *w, const Edge *e, PyObject *value)
{
    if (value == w->p->missing) {
        return e->missing ? take(w, e->missing) : 0;
    }
    if (Py_IS_TYPE(value, (PyTypeObject *)w->p->many)) {
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(value); j++) {
            if (take_typed_one(w, e, PyList_GET_ITEM(value, j)) < 0) {
                return -1;
            }
        }
        return 0;
    }
    return take_typed_one(w, e, value);
}

/* The hashes a string edge looks up first: the whole value's, and that of its first cut. */
typedef struct {
    uint32_t exact, first;
} Hashes;

/* Hash what `take_string` will look up first and request those slots, so that the lookups of a
 * state's edges wait for memory together rather than one after the other. */
static inline void
prepare(const Program *p, const Edge *e, PyObject *value, Hashes *h)
{
    h->exact = h->first = 0;
    if (e->first < 0 || value == p->missing || !PyUnicode_Check(value) || PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND) {
        return; /* (wide strings are hashed once narrowed, in `find`) */
    }
    const unsigned char *data = PyUnicode_1BYTE_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const Table *exact = &e->u.strings.exact, *links = &e->u.strings.links;
    if (exact->slots != NULL && n <= MAX_KEY_CHARS) {
        h->exact = hash_bytes(data, (size_t)n);
        __builtin_prefetch(&exact->slots[h->exact & exact->mask]);
    }
    if (e->first > 0 && e->first <= n) {
        h->first = hash_bytes(data, (size_t)e->first);
        __builtin_prefetch(&links->slots[h->first & links->mask]);
    }
}

/* A string edge: the exact table, else the prefix probes `automaton._links` describes. `h` holds
 * the hashes `prepare` found, or zeros. */
static int
take_string(Walk *w, const Edge *e, PyObject *value, const Hashes *h)
{
    if (value == w->p->missing) {
        return e->missing ? take(w, e->missing) : 0;
    }
    if (!PyUnicode_Check(value)) {
        return 0; /* no number, boolean or null equals a string */
    }
    int kind = PyUnicode_KIND(value);
    const void *data = PyUnicode_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const Slot *s;
    if (e->u.strings.exact.slots != NULL && n <= MAX_KEY_CHARS) {
        if (find(&e->u.strings.exact, kind, data, n, h->exact, &s) < 0) {
            return -1;
        }
        if (s != NULL) {
            return take_slot(w, s); /* the entry holds what the value's prefixes reach too */
        }
    }
    int64_t length = e->first;
    uint32_t hash = h->first;
    while (length > 0 && length <= n) {
        if (find(&e->u.strings.links, kind, data, length, hash, &s) < 0) {
            return -1;
        }
        hash = 0;
        if (s == NULL) {
            return 0; /* no prefix this long or longer starts like the value */
        }
        if (s->flags & RULE) {
            return found(w, s->step.rule);
        }
        uint32_t link = (uint32_t)s->step.code;
        switch (TAG(link)) {
        case T_LENGTH:
            length = ARG(link);
            continue;
        case T_FORK:
            if (take(w, link) < 0) {
                return -1;
            }
            length = w->p->forks[ARG(link)].after;
            continue;
        default:
            return take(w, link);
        }
    }
    return 0;
}

PyDoc_STRVAR(walk_doc,
             "walk(values, result, several=False)\n--\n\n"
             "Add to the set `result` the ids of the rules the event's `values` (one per path id)\n"
             "satisfy; `several`: some path holds a `Many`. Returns the number of states visited.");

static PyObject *
Program_walk(Program *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || nargs > 3 || !PyList_CheckExact(args[0]) || !PySet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "walk(values: list, result: set, several: bool = False)");
        return NULL;
    }
    PyObject *values = args[0], *result = args[1];
    int several = nargs == 3 ? PyObject_IsTrue(args[2]) : 0;
    if (several < 0) {
        return NULL;
    }
    if (PyList_GET_SIZE(values) < self->width) {
        PyErr_SetString(PyExc_ValueError, "walk: fewer values than the program has paths");
        return NULL;
    }
    Walk w; /* (not zeroed: its buffers' local arrays are a kilobyte) */
    w.p = self;
    w.seen = NULL;
    /* Two values of one path can lead to the same state (a leaf `["a", "b"]`, an event `["a",
     * "b"]`): so with several, a state reached again is not walked again, or arrays at every level
     * could multiply the work. */
    if (several && (w.seen = zeroed((self->node_count + 63) / 64, sizeof(uint64_t))) == NULL) {
        return NULL;
    }
    buffer_init(&w.nodes);
    buffer_init(&w.found);
    /* Every value the walk may read, requested at once: the states' lookups depend on each
     * other, and without this each level of the walk would wait for its values in turn. */
    for (Py_ssize_t i = 0; i < self->width && i < PREFETCHED_VALUES; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        __builtin_prefetch(value);
        __builtin_prefetch((const char *)value + 63); /* a short string's characters */
    }
    int status = reach(&w, self->root);
    long visited = 0;
    while (status == 0 && w.nodes.size > 0) {
        const NodeSpan *node = &self->nodes[w.nodes.items[--w.nodes.size]];
        visited++;
        const Edge *edges = &self->edges[node->start];
        /* What this state's edges read, requested together (see `Walk`): the event's values,
         * then the slots their hashes lead to. */
        Hashes hashes[PREPARED];
        uint32_t prepared = node->count < PREPARED ? node->count : PREPARED;
        for (uint32_t i = 0; i < prepared; i++) {
            __builtin_prefetch(PyList_GET_ITEM(values, edges[i].pid));
        }
        for (uint32_t i = 0; i < prepared; i++) {
            prepare(self, &edges[i], PyList_GET_ITEM(values, edges[i].pid), &hashes[i]);
        }
        static const Hashes none = {0, 0};
        for (uint32_t i = 0; status == 0 && i < node->count; i++) {
            const Edge *e = &edges[i];
            PyObject *value = PyList_GET_ITEM(values, e->pid);
            if (e->first >= 0 && Py_IS_TYPE(value, (PyTypeObject *)self->many)) {
                for (Py_ssize_t j = 0; status == 0 && j < PyList_GET_SIZE(value); j++) {
                    status = take_string(&w, e, PyList_GET_ITEM(value, j), &none);
                }
            }
            else if (e->first >= 0) {
                status = take_string(&w, e, value, i < prepared ? &hashes[i] : &none);
            }
            else if (e->first == TYPED_EDGE) {
                status = take_typed(&w, e, value);
                if (status == 0 && e->u.typed.fallback != NULL && PyList_GET_SIZE(values) < self->width) {
                    PyErr_SetString(PyExc_RuntimeError, "walk: the values changed during the walk");
                    status = -1;
                }
            }
            else if ((status = take_other(&w, e, value)) == 0 && PyList_GET_SIZE(values) < self->width) {
                /* (Python code ran: nothing of ours changes `values`, but the walk reads it unchecked) */
                PyErr_SetString(PyExc_RuntimeError, "walk: the values changed during the walk");
                status = -1;
            }
        }
    }
    for (Py_ssize_t i = 0; status == 0 && i < w.found.size; i++) {
        status = PySet_Add(result, (PyObject *)w.found.items[i]);
    }
    buffer_free(&w.nodes);
    buffer_free(&w.found);
    PyMem_Free(w.seen);
    if (status < 0) {
        return NULL;
    }
    return PyLong_FromLong(visited);
}

/* ---- building ---------------------------------------------------------------------------- */

static int
fail(const char *message)
{
    PyErr_SetString(PyExc_ValueError, message);
    return -1;
}

static int
as_u32(PyObject *obj, uint32_t limit, uint32_t *out)
{
    unsigned long v = PyLong_AsUnsignedLong(obj);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    if (v > limit) {
        return fail("an index or code is out of range");
    }
    *out = (uint32_t)v;
    return 0;
}

/* Check that a code's index is in range, so that the walk never reads outside its arrays. */
static int
check_code(const Program *p, uint32_t code, int allow_length)
{
    uint32_t arg = ARG(code);
    switch (TAG(code)) {
    case T_NONE:
        return 0;
    case T_RULE:
        return arg < (uint32_t)PyTuple_GET_SIZE(p->names) ? 0 : fail("rule index out of range");
    case T_GROUP:
        return arg < (uint32_t)p->group_count ? 0 : fail("group index out of range");
    case T_NODE:
        return arg < (uint32_t)p->node_count ? 0 : fail("node index out of range");
    case T_FORK:
        return arg < (uint32_t)p->fork_count ? 0 : fail("fork index out of range");
    case T_LENGTH:
        return allow_length && arg > 0 ? 0 : fail("a length code outside a prefix table");
    default:
        return fail("unknown step tag");
    }
}

static int
build_table(Table *t, PyObject *entries, PyObject *names)
{
    if (!PyList_Check(entries)) {
        return fail("a table must be a list of (key, code) pairs");
    }
    Py_ssize_t count = PyList_GET_SIZE(entries);
    uint64_t size = 2; /* 64 bytes, so every table stays aligned to a cache line */
    while (size < (uint64_t)count * 2) { /* load at most 1/2: linear probing stays short */
        size *= 2;
    }
    t->mask = size - 1;
    t->slots = zeroed_lines((Py_ssize_t)size, sizeof(Slot));
    if (t->slots == NULL) {
        return -1;
    }
    size_t pool_size = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(entries, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(pair, 0))) {
            return fail("a table entry must be a (str, code) pair");
        }
        PyObject *key = PyTuple_GET_ITEM(pair, 0);
        if (PyUnicode_READY(key) < 0) {
            return -1;
        }
        size_t bytes = (size_t)PyUnicode_GET_LENGTH(key) * (size_t)PyUnicode_KIND(key);
        if (bytes > INLINE_BYTES) {
            pool_size += bytes;
        }
    }
    if (pool_size > UINT32_MAX) {
        return fail("a table's keys are too long");
    }
    t->pool = pool_size ? PyMem_Malloc(pool_size) : NULL;
    if (pool_size && t->pool == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    size_t used = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(entries, i);
        PyObject *key = PyTuple_GET_ITEM(pair, 0);
        uint32_t code;
        if (as_u32(PyTuple_GET_ITEM(pair, 1), UINT32_MAX, &code) < 0) {
            return -1;
        }
        if (code == T_NONE) {
            return fail("a table entry leads nowhere");
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(key);
        if (n > MAX_KEY_CHARS) {
            return fail("a key is too long for the table layout");
        }
        int kind = PyUnicode_KIND(key);
        const void *data = PyUnicode_DATA(key);
        Probe probe; /* (a str is already in its narrowest kind: this only checks it) */
        if (probe_init(&probe, kind, data, n) < 0) {
            return -1;
        }
        PyMem_Free(probe.owned);
        if (probe.kind != kind) {
            return fail("a key is not in its narrowest kind");
        }
        size_t bytes = (size_t)n * (size_t)kind;
        uint32_t h = hash_bytes(data, bytes);
        if (lookup_hashed(t, h, kind, data, bytes, n) != NULL) {
            return fail("a table has a key twice");
        }
        uint64_t j = h & t->mask;
        while (t->slots[j].hash != 0) {
            j = (j + 1) & t->mask;
        }
        Slot *s = &t->slots[j];
        s->hash = h;
        s->length = (uint16_t)n;
        s->kind = (uint8_t)kind;
        if (TAG(code) == T_RULE) {
            if (ARG(code) >= (uint32_t)PyTuple_GET_SIZE(names)) {
                return fail("rule index out of range");
            }
            s->flags = RULE;
            s->step.rule = PyTuple_GET_ITEM(names, ARG(code));
        }
        else {
            s->step.code = code;
        }
        if (bytes > INLINE_BYTES) {
            s->flags |= POOLED;
            s->at.offset = (uint32_t)used;
            memcpy(t->pool + used, data, bytes);
            used += bytes;
        }
        else {
            memcpy(s->at.bytes, data, bytes);
        }
    }
    return 0;
}

/* The indices in the tuple `seq`, each below `count`. */
static int
build_index_list(PyObject *seq, Py_ssize_t count, uint32_t *out)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(seq); i++) {
        if (as_u32(PyTuple_GET_ITEM(seq, i), UINT32_MAX, &out[i]) < 0) {
            return -1;
        }
        if ((Py_ssize_t)out[i] >= count) {
            return fail("an index is out of range");
        }
    }
    return 0;
}

static int
build_groups(Program *p, PyObject *groups)
{
    Py_ssize_t total = 0, count = PyList_GET_SIZE(groups);
    for (Py_ssize_t g = 0; g < count; g++) {
        if (!PyTuple_Check(PyList_GET_ITEM(groups, g))) {
            return fail("a group must be a tuple of rule indices");
        }
        total += PyTuple_GET_SIZE(PyList_GET_ITEM(groups, g));
    }
    if ((p->group_starts = zeroed(count + 1, sizeof(uint32_t))) == NULL
        || (p->group_items = zeroed(total, sizeof(PyObject *))) == NULL) {
        return -1;
    }
    p->group_count = count;
    uint32_t at = 0;
    for (Py_ssize_t g = 0; g < count; g++) {
        PyObject *group = PyList_GET_ITEM(groups, g);
        p->group_starts[g] = at;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(group); i++) {
            uint32_t rule;
            if (as_u32(PyTuple_GET_ITEM(group, i), UINT32_MAX, &rule) < 0) {
                return -1;
            }
            if (rule >= (uint32_t)PyTuple_GET_SIZE(p->names)) {
                return fail("rule index out of range");
            }
            p->group_items[at++] = PyTuple_GET_ITEM(p->names, rule);
        }
    }
    p->group_starts[count] = at;
    return 0;
}

static int
build_forks(Program *p, PyObject *forks)
{
    Py_ssize_t count = PyList_GET_SIZE(forks), total = 0;
    for (Py_ssize_t f = 0; f < count; f++) {
        PyObject *fork = PyList_GET_ITEM(forks, f);
        if (!PyTuple_Check(fork) || PyTuple_GET_SIZE(fork) != 3 || !PyTuple_Check(PyTuple_GET_ITEM(fork, 1))) {
            return fail("a fork must be (group, node indices, after)");
        }
        total += PyTuple_GET_SIZE(PyTuple_GET_ITEM(fork, 1));
    }
    if ((p->forks = zeroed(count, sizeof(ForkInfo))) == NULL
        || (p->fork_nodes = zeroed(total, sizeof(uint32_t))) == NULL) {
        return -1;
    }
    p->fork_count = count;
    uint32_t at = 0;
    for (Py_ssize_t f = 0; f < count; f++) {
        PyObject *fork = PyList_GET_ITEM(forks, f);
        ForkInfo *info = &p->forks[f];
        uint32_t group;
        if (as_u32(PyTuple_GET_ITEM(fork, 0), UINT32_MAX, &group) < 0) {
            return -1;
        }
        if (group >= (uint32_t)p->group_count) {
            return fail("a fork's group is out of range");
        }
        info->rules_start = p->group_starts[group];
        info->rules_count = p->group_starts[group + 1] - info->rules_start;
        PyObject *nodes = PyTuple_GET_ITEM(fork, 1);
        info->nodes_start = at;
        info->nodes_count = (uint32_t)PyTuple_GET_SIZE(nodes);
        if (build_index_list(nodes, p->node_count, &p->fork_nodes[at]) < 0) {
            return -1;
        }
        at += info->nodes_count;
        info->after = PyLong_AsLongLong(PyTuple_GET_ITEM(fork, 2));
        if (info->after == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (info->after <= 0) {
            return fail("a fork's next length must be positive");
        }
    }
    return 0;
}

/* The codes in a built table: each in range, and T_TAILS (only in wildcard heads) below `tails`. */
static int
check_slots(const Program *p, const Table *t, uint32_t tails)
{
    for (uint64_t i = 0; t->slots != NULL && i <= t->mask; i++) {
        const Slot *s = &t->slots[i];
        if (!s->hash || s->flags & RULE) {
            continue;
        }
        uint32_t code = (uint32_t)s->step.code;
        if (tails ? TAG(code) != T_TAILS || ARG(code) >= tails : check_code(p, code, 0) < 0) {
            return PyErr_Occurred() ? -1 : fail("a wildcard head must lead to its tails");
        }
    }
    return 0;
}

/* A table of (key, code) entries, probed at its keys' distinct lengths. `tails`: 0 for codes of
 * steps, the number of tails tables for wildcard heads, -1 for keys only (codes never taken). */
static int
build_probed(Program *p, Probed *probed, PyObject *entries, int32_t tails)
{
    if (!PyList_Check(entries)) {
        return fail("a typed edge's table must be a list of (key, code) pairs");
    }
    if (PyList_GET_SIZE(entries) == 0) {
        return 0;
    }
    if (build_table(&probed->table, entries, p->names) < 0
        || (tails >= 0 && check_slots(p, &probed->table, (uint32_t)tails) < 0)) {
        return -1;
    }
    uint8_t *seen = zeroed(MAX_KEY_CHARS + 1, 1);
    if (seen == NULL) {
        return -1;
    }
    uint32_t count = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(entries); i++) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(PyList_GET_ITEM(entries, i), 0));
        count += !seen[n];
        seen[n] = 1;
    }
    probed->lengths = zeroed(count, sizeof(uint16_t));
    if (probed->lengths != NULL) {
        for (uint32_t n = 0; n <= MAX_KEY_CHARS; n++) {
            if (seen[n]) {
                probed->lengths[probed->count++] = (uint16_t)n;
            }
        }
    }
    PyMem_Free(seen);
    return probed->lengths == NULL ? -1 : 0;
}

static void
free_table(Table *t)
{
    free(t->slots);
    PyMem_Free(t->pool);
}

static void
free_probed(Probed *probed)
{
    free_table(&probed->table);
    PyMem_Free(probed->lengths);
}

static void
free_but(But *b)
{
    free_table(&b->strings);
    free_table(&b->folded);
    free_probed(&b->prefixes);
    free_probed(&b->suffixes);
    PyMem_Free(b->numbers);
}

/* (code, excluded strings, prefixes, suffixes: (key, code) lists whose codes are never taken,
 * excluded numbers: floats, excluded folded strings: like the strings) */
static int
build_but(Program *p, But *b, PyObject *spec)
{
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 6) {
        return fail("an anything-but must be a 6-tuple");
    }
    PyObject *strings = PyTuple_GET_ITEM(spec, 1), *numbers = PyTuple_GET_ITEM(spec, 4);
    PyObject *folded = PyTuple_GET_ITEM(spec, 5);
    if (!PyList_Check(strings) || !PyList_Check(numbers) || !PyList_Check(folded)) {
        return fail("an anything-but's exclusions must be lists");
    }
    if (PyList_GET_SIZE(folded) > 0 && build_table(&b->folded, folded, p->names) < 0) {
        return -1;
    }
    if (as_u32(PyTuple_GET_ITEM(spec, 0), UINT32_MAX, &b->code) < 0 || check_code(p, b->code, 0) < 0) {
        return -1;
    }
    if (b->code == T_NONE) {
        return fail("an anything-but leads nowhere");
    }
    if (PyList_GET_SIZE(strings) > 0 && build_table(&b->strings, strings, p->names) < 0) {
        return -1;
    }
    if (build_probed(p, &b->prefixes, PyTuple_GET_ITEM(spec, 2), -1) < 0
        || build_probed(p, &b->suffixes, PyTuple_GET_ITEM(spec, 3), -1) < 0) {
        return -1;
    }
    Py_ssize_t count = PyList_GET_SIZE(numbers);
    if (count > (Py_ssize_t)MAX_ARG || (b->numbers = zeroed(count, sizeof(double))) == NULL) {
        return PyErr_Occurred() ? -1 : fail("too many excluded numbers");
    }
    b->number_count = (uint32_t)count;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyFloat_CheckExact(PyList_GET_ITEM(numbers, i))) {
            return fail("an excluded number must be a float");
        }
        b->numbers[i] = PyFloat_AS_DOUBLE(PyList_GET_ITEM(numbers, i));
    }
    return 0;
}

static void
free_typed(Typed *t)
{
    if (t == NULL) {
        return;
    }
    for (uint32_t i = 0; t->buts != NULL && i < t->but_count; i++) {
        free_but(&t->buts[i]);
    }
    PyMem_Free(t->buts);
    free_table(&t->exact);
    free_table(&t->folded);
    free_probed(&t->folded_prefixes);
    free_probed(&t->folded_suffixes);
    free_probed(&t->prefixes);
    free_probed(&t->suffixes);
    free_probed(&t->heads);
    for (uint32_t i = 0; t->tails != NULL && i < t->tail_count; i++) {
        free_probed(&t->tails[i]);
    }
    PyMem_Free(t->tails);
    free_table(&t->cidr);
    PyMem_Free(t->bounds);
    PyMem_Free(t->regions);
    PyMem_Free(t);
}

/* The item `name` of a typed edge's layout (a dict), borrowed; NULL with an error where missing. */
static PyObject *
field(PyObject *spec, const char *name)
{
    PyObject *item = PyDict_GetItemString(spec, name);
    if (item == NULL) {
        PyErr_Format(PyExc_ValueError, "a typed edge's layout lacks %s", name);
    }
    return item;
}

/* A typed edge's layout, a dict (`native._Layout._typed`): codes `any_value`, `any_string` and
 * `specials` (true, false, null); (key, code) tables `exact`, `prefixes`, `suffixes`, `folded`,
 * `folded_prefixes`, `folded_suffixes`, `cidr` (keys of 5 Latin-1 characters: mask length, masked
 * address); `heads`, (head, tails table) pairs; `bounds` and their 2 * len(bounds) + 1 `regions`,
 * or none at all; `buts`, as `build_but` reads them; `ipv6`, whether strings with a ':' go to the
 * fallback (the path has IPv6 blocks). */
static int
build_typed(Program *p, Typed *t, PyObject *spec)
{
    if (!PyDict_Check(spec)) {
        return fail("a typed edge's layout must be a dict");
    }
    PyObject *buts = field(spec, "buts"), *specials = field(spec, "specials"), *ipv6 = field(spec, "ipv6");
    PyObject *exact = field(spec, "exact"), *heads = field(spec, "heads"), *cidr = field(spec, "cidr");
    PyObject *folded = field(spec, "folded"), *bounds = field(spec, "bounds"), *regions = field(spec, "regions");
    PyObject *any_value = field(spec, "any_value"), *any_string = field(spec, "any_string");
    PyObject *prefixes = field(spec, "prefixes"), *suffixes = field(spec, "suffixes");
    PyObject *folded_prefixes = field(spec, "folded_prefixes"), *folded_suffixes = field(spec, "folded_suffixes");
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!PyList_Check(buts) || PyList_GET_SIZE(buts) > (Py_ssize_t)MAX_ARG) {
        return fail("a typed edge's anything-buts must be a list");
    }
    if ((t->buts = zeroed(PyList_GET_SIZE(buts), sizeof(But))) == NULL) {
        return -1;
    }
    t->but_count = (uint32_t)PyList_GET_SIZE(buts);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(buts); i++) {
        if (build_but(p, &t->buts[i], PyList_GET_ITEM(buts, i)) < 0) {
            return -1;
        }
        t->fold |= t->buts[i].folded.slots != NULL;
    }
    if (as_u32(any_value, UINT32_MAX, &t->any_value) < 0 || as_u32(any_string, UINT32_MAX, &t->any_string) < 0
        || check_code(p, t->any_value, 0) < 0 || check_code(p, t->any_string, 0) < 0) {
        return -1;
    }
    if (!PyList_Check(specials) || PyList_GET_SIZE(specials) != 3) {
        return fail("a typed edge's specials must be the codes of true, false and null");
    }
    for (int i = 0; i < 3; i++) {
        if (as_u32(PyList_GET_ITEM(specials, i), UINT32_MAX, &t->specials[i]) < 0
            || check_code(p, t->specials[i], 0) < 0) {
            return -1;
        }
    }
    if ((t->ipv6 = PyObject_IsTrue(ipv6)) < 0) {
        return -1;
    }
    if (!PyList_Check(exact) || !PyList_Check(heads) || !PyList_Check(cidr) || !PyList_Check(folded)) {
        return fail("a typed edge's tables must be lists");
    }
    if (PyList_GET_SIZE(exact) > 0
        && (build_table(&t->exact, exact, p->names) < 0 || check_slots(p, &t->exact, 0) < 0)) {
        return -1;
    }
    if (PyList_GET_SIZE(folded) > 0
        && (build_table(&t->folded, folded, p->names) < 0 || check_slots(p, &t->folded, 0) < 0)) {
        return -1;
    }
    if (build_probed(p, &t->prefixes, prefixes, 0) < 0 || build_probed(p, &t->suffixes, suffixes, 0) < 0
        || build_probed(p, &t->folded_prefixes, folded_prefixes, 0) < 0
        || build_probed(p, &t->folded_suffixes, folded_suffixes, 0) < 0) {
        return -1;
    }
    t->fold |= t->folded.slots != NULL || t->folded_prefixes.count > 0 || t->folded_suffixes.count > 0;
    /* Wildcard heads: each leads to its own tails table, T_TAILS codes in the heads table. */
    Py_ssize_t head_count = PyList_GET_SIZE(heads);
    if (head_count > 0) {
        PyObject *entries = PyList_New(head_count);
        if (entries == NULL || (t->tails = zeroed(head_count, sizeof(Probed))) == NULL) {
            Py_XDECREF(entries);
            return -1;
        }
        if (head_count > INT32_MAX >> 3) {
            Py_DECREF(entries);
            return fail("too many wildcard heads");
        }
        t->tail_count = (uint32_t)head_count;
        int status = 0;
        for (Py_ssize_t i = 0; status == 0 && i < head_count; i++) {
            PyObject *pair = PyList_GET_ITEM(heads, i);
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
                status = fail("a wildcard head must be a (head, tails) pair");
                break;
            }
            PyObject *entry = Py_BuildValue("(OI)", PyTuple_GET_ITEM(pair, 0), (unsigned)(i << 3 | T_TAILS));
            if (entry == NULL) {
                status = -1;
                break;
            }
            PyList_SET_ITEM(entries, i, entry);
            status = build_probed(p, &t->tails[i], PyTuple_GET_ITEM(pair, 1), 0);
        }
        if (status == 0) {
            for (Py_ssize_t i = 0; i < head_count; i++) { /* (entries not set on failure stay NULL) */
                if (PyList_GET_ITEM(entries, i) == NULL) {
                    status = -1;
                }
            }
        }
        if (status == 0) {
            status = build_probed(p, &t->heads, entries, (int32_t)t->tail_count);
        }
        Py_DECREF(entries);
        if (status < 0) {
            return -1;
        }
    }
    if (PyList_GET_SIZE(cidr) > 0) {
        if (build_table(&t->cidr, cidr, p->names) < 0 || check_slots(p, &t->cidr, 0) < 0) {
            return -1;
        }
        uint8_t seen[33] = {0};
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(cidr); i++) {
            PyObject *key = PyTuple_GET_ITEM(PyList_GET_ITEM(cidr, i), 0);
            if (PyUnicode_GET_LENGTH(key) != 5 || PyUnicode_KIND(key) != PyUnicode_1BYTE_KIND
                || PyUnicode_1BYTE_DATA(key)[0] > 32) {
                return fail("a cidr key must be a mask length and 4 address bytes");
            }
            seen[PyUnicode_1BYTE_DATA(key)[0]] = 1;
        }
        for (uint32_t plen = 0; plen <= 32; plen++) {
            if (seen[plen]) {
                t->plens[t->plen_count++] = (uint8_t)plen;
            }
        }
    }
    if (!PyList_Check(bounds) || !PyList_Check(regions)) {
        return fail("a typed edge's bounds and regions must be lists");
    }
    Py_ssize_t bound_count = PyList_GET_SIZE(bounds);
    if (PyList_GET_SIZE(regions) == 0 && bound_count == 0) {
        return 0;
    }
    if (bound_count > (Py_ssize_t)MAX_ARG || PyList_GET_SIZE(regions) != 2 * bound_count + 1) {
        return fail("a typed edge needs 2 * len(bounds) + 1 regions");
    }
    t->numbers = 1;
    t->bound_count = (uint32_t)bound_count;
    if ((t->bounds = zeroed(bound_count, sizeof(double))) == NULL
        || (t->regions = zeroed(2 * bound_count + 1, sizeof(uint32_t))) == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < bound_count; i++) {
        PyObject *bound = PyList_GET_ITEM(bounds, i);
        if (!PyFloat_CheckExact(bound)) {
            return fail("a bound must be a float");
        }
        t->bounds[i] = PyFloat_AS_DOUBLE(bound);
        if (isnan(t->bounds[i]) || (i > 0 && !(t->bounds[i - 1] < t->bounds[i]))) {
            return fail("bounds must be ascending numbers");
        }
    }
    for (Py_ssize_t i = 0; i < 2 * bound_count + 1; i++) {
        if (as_u32(PyList_GET_ITEM(regions, i), UINT32_MAX, &t->regions[i]) < 0
            || check_code(p, t->regions[i], 0) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
build_edge(Program *p, Edge *e, PyObject *spec)
{
    /* (pid, first, exact table or -1, links table or -1, missing code, and for `other` edges
     * their index's one, absent and collect, else None) */
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 8) {
        return fail("an edge must be an 8-tuple");
    }
    Py_ssize_t pid = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 0));
    long long first = PyLong_AsLongLong(PyTuple_GET_ITEM(spec, 1));
    long exact = PyLong_AsLong(PyTuple_GET_ITEM(spec, 2));
    long links = PyLong_AsLong(PyTuple_GET_ITEM(spec, 3));
    if (PyErr_Occurred() || as_u32(PyTuple_GET_ITEM(spec, 4), UINT32_MAX, &e->missing) < 0) {
        return -1;
    }
    if (pid < 0 || pid >= p->width) {
        return fail("an edge's path id is out of range");
    }
    if (first < TYPED_EDGE || first > MAX_KEY_CHARS) {
        return fail("an edge's first prefix length is out of range");
    }
    if (exact < -1 || exact >= p->table_count || links < -1 || links >= p->table_count) {
        return fail("an edge's table is out of range");
    }
    e->pid = (uint32_t)pid;
    e->first = (int32_t)first;
    if (e->first == TYPED_EDGE) {
        PyObject *fallback = PyTuple_GET_ITEM(spec, 6);
        if (fallback != Py_None && !PyCallable_Check(fallback)) {
            return fail("a typed edge's fallback must be its index's `one`, or None");
        }
        if ((e->u.typed.typed = zeroed(1, sizeof(Typed))) == NULL) {
            return -1;
        }
        e->u.typed.fallback = fallback == Py_None ? NULL : Py_NewRef(fallback);
        if (build_typed(p, e->u.typed.typed, PyTuple_GET_ITEM(spec, 5)) < 0) {
            return -1;
        }
        const Typed *t = e->u.typed.typed;
        int numbers = t->numbers;
        for (uint32_t i = 0; i < t->but_count; i++) {
            numbers |= t->buts[i].number_count > 0;
        }
        if ((numbers || t->fold || t->ipv6) && e->u.typed.fallback == NULL) {
            return fail("a typed edge with numbers, case folding or IPv6 blocks needs its fallback");
        }
    }
    else if (e->first < 0) {
        PyObject *one = PyTuple_GET_ITEM(spec, 5), *absent = PyTuple_GET_ITEM(spec, 6);
        PyObject *collect = PyTuple_GET_ITEM(spec, 7);
        p->python_edges++;
        if (!PyCallable_Check(one) || !PyList_Check(absent) || !PyCallable_Check(collect)) {
            return fail("an `other` edge needs its index's `one`, `absent` and `collect`");
        }
        e->u.other.one = Py_NewRef(one);
        e->u.other.absent = Py_NewRef(absent);
        e->u.other.collect = Py_NewRef(collect);
    }
    else {
        if (exact >= 0) {
            e->u.strings.exact = p->tables[exact];
        }
        if (links >= 0) {
            e->u.strings.links = p->tables[links];
        }
        if (e->first > 0 && links < 0) {
            return fail("an edge with prefixes needs its links table");
        }
    }
    return check_code(p, e->missing, 0);
}

static int
build_nodes(Program *p, PyObject *nodes)
{
    Py_ssize_t count = PyList_GET_SIZE(nodes), total = 0;
    for (Py_ssize_t n = 0; n < count; n++) {
        if (!PyList_Check(PyList_GET_ITEM(nodes, n))) {
            return fail("a node must be a list of edges");
        }
        total += PyList_GET_SIZE(PyList_GET_ITEM(nodes, n));
    }
    if ((p->nodes = zeroed(count, sizeof(NodeSpan))) == NULL || (p->edges = zeroed_lines(total, sizeof(Edge))) == NULL) {
        return -1;
    }
    p->node_count = count;
    uint32_t at = 0;
    for (Py_ssize_t n = 0; n < count; n++) {
        PyObject *edges = PyList_GET_ITEM(nodes, n);
        p->nodes[n].start = at;
        p->nodes[n].count = (uint32_t)PyList_GET_SIZE(edges);
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(edges); i++) {
            p->edge_count = at + 1; /* so that dealloc releases what this edge took, even if it fails */
            if (build_edge(p, &p->edges[at], PyList_GET_ITEM(edges, i)) < 0) {
                return -1;
            }
            at++;
        }
    }
    return 0;
}

static int
check_tables(const Program *p, PyObject *links_flags)
{
    for (Py_ssize_t t = 0; t < p->table_count; t++) {
        int is_links = PyObject_IsTrue(PyList_GET_ITEM(links_flags, t));
        if (is_links < 0) {
            return -1;
        }
        const Table *table = &p->tables[t];
        for (uint64_t i = 0; i <= table->mask; i++) {
            const Slot *s = &table->slots[i];
            if (s->hash && !(s->flags & RULE) && check_code(p, (uint32_t)s->step.code, is_links) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

static void Program_dealloc(Program *self);

PyDoc_STRVAR(program_doc,
             "Program(names, groups, forks, tables, links_flags, nodes, root, width, missing, many, node_index)\n"
             "--\n\n"
             "An automaton laid out for the C walk; `native.py` builds the arguments.");

static PyObject *
Program_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"names", "groups", "forks",   "tables", "links_flags", "nodes",
                               "root",  "width",  "missing", "many",   "node_index",  NULL};
    PyObject *names, *groups, *forks, *tables, *flags, *nodes, *missing, *many, *node_index;
    Py_ssize_t root, width;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!O!nnOO!O!:Program", keywords, &PyTuple_Type, &names,
                                     &PyList_Type, &groups, &PyList_Type, &forks, &PyList_Type, &tables,
                                     &PyList_Type, &flags, &PyList_Type, &nodes, &root, &width, &missing,
                                     &PyType_Type, &many, &PyDict_Type, &node_index)) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)many, &PyList_Type)) {
        PyErr_SetString(PyExc_TypeError, "`many` must be a list type");
        return NULL;
    }
    if (PyList_GET_SIZE(flags) != PyList_GET_SIZE(tables)) {
        PyErr_SetString(PyExc_ValueError, "one links flag per table");
        return NULL;
    }
    if (PyTuple_GET_SIZE(names) > MAX_ARG || PyList_GET_SIZE(groups) > MAX_ARG || PyList_GET_SIZE(forks) > MAX_ARG
        || PyList_GET_SIZE(nodes) > MAX_ARG || width < 0) {
        PyErr_SetString(PyExc_ValueError, "the automaton is too large for the program layout");
        return NULL;
    }
    Program *self = (Program *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->names = Py_NewRef(names);
    self->missing = Py_NewRef(missing);
    self->many = Py_NewRef(many);
    self->node_index = Py_NewRef(node_index);
    self->width = width;
    Py_ssize_t table_count = PyList_GET_SIZE(tables);
    if ((self->tables = zeroed(table_count, sizeof(Table))) == NULL) {
        goto error;
    }
    self->table_count = table_count;
    if (build_groups(self, groups) < 0) {
        goto error;
    }
    for (Py_ssize_t t = 0; t < table_count; t++) {
        if (build_table(&self->tables[t], PyList_GET_ITEM(tables, t), names) < 0) {
            goto error;
        }
    }
    self->node_count = PyList_GET_SIZE(nodes); /* the bound of node indices, before they are built */
    if (build_forks(self, forks) < 0 || build_nodes(self, nodes) < 0) {
        goto error;
    }
    if (check_tables(self, flags) < 0) {
        goto error;
    }
    if (root < 0 || root >= self->node_count) {
        PyErr_SetString(PyExc_ValueError, "the root is out of range");
        goto error;
    }
    self->root = (uint32_t)root;
    return (PyObject *)self;
error:
    Py_DECREF(self);
    return NULL;
}

static void
Program_dealloc(Program *self)
{
    for (Py_ssize_t i = 0; i < self->edge_count; i++) {
        if (self->edges[i].first == TYPED_EDGE) {
            free_typed(self->edges[i].u.typed.typed);
            Py_XDECREF(self->edges[i].u.typed.fallback);
        }
        else if (self->edges[i].first < 0) {
            Py_XDECREF(self->edges[i].u.other.one);
            Py_XDECREF(self->edges[i].u.other.absent);
            Py_XDECREF(self->edges[i].u.other.collect);
        }
    }
    for (Py_ssize_t t = 0; self->tables != NULL && t < self->table_count; t++) {
        free_table(&self->tables[t]);
    }
    PyMem_Free(self->tables);
    free(self->edges);
    PyMem_Free(self->nodes);
    PyMem_Free(self->group_starts);
    PyMem_Free(self->group_items);
    PyMem_Free(self->forks);
    PyMem_Free(self->fork_nodes);
    Py_XDECREF(self->names);
    Py_XDECREF(self->missing);
    Py_XDECREF(self->many);
    Py_XDECREF(self->node_index);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Program_methods[] = {
    {"walk", (PyCFunction)(void (*)(void))Program_walk, METH_FASTCALL, walk_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *
Program_python_edges(Program *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->python_edges);
}

static PyGetSetDef Program_getset[] = {
    {"python_edges", (getter)Program_python_edges, NULL,
     "How many edges call back into their Python `ValueIndex` (operators this walk leaves to it).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ccbridge.core.rules._walk.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = program_doc,
    .tp_methods = Program_methods,
    .tp_getset = Program_getset,
    .tp_new = Program_new,
};

static struct PyModuleDef walk_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ccbridge.core.rules._walk",
    .m_doc = "The matching automaton's walk over cache-friendly tables (see native.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__walk(void)
{
    if (PyType_Ready(&ProgramType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&walk_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Program", (PyObject *)&ProgramType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "TAG_BITS", 3) < 0 || PyModule_AddIntConstant(module, "RULE", T_RULE) < 0
        || PyModule_AddIntConstant(module, "GROUP", T_GROUP) < 0 || PyModule_AddIntConstant(module, "NODE", T_NODE) < 0
        || PyModule_AddIntConstant(module, "FORK", T_FORK) < 0
        || PyModule_AddIntConstant(module, "LENGTH", T_LENGTH) < 0
        || PyModule_AddIntConstant(module, "OTHER", OTHER_EDGE) < 0
        || PyModule_AddIntConstant(module, "TYPED", TYPED_EDGE) < 0
        || PyModule_AddIntConstant(module, "MAX_ARG", MAX_ARG) < 0
        || PyModule_AddIntConstant(module, "MAX_KEY_CHARS", MAX_KEY_CHARS) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
