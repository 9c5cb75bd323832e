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
 * tables hold the same: strings, and `MISSING` kept apart here); paths needing other operators
 * call back into their Python `ValueIndex`.
 *
 * Built once, never changed: safe to share between threads (the walk holds the GIL throughout).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A step code: a tag in the low 3 bits, an index (or a length) above it. 0 is "nothing". */
enum { T_NONE = 0, T_RULE = 1, T_GROUP = 2, T_NODE = 3, T_FORK = 4, T_LENGTH = 5 };
#define TAG(code) ((code) & 7u)
#define ARG(code) ((code) >> 3)
#define MAX_ARG ((1u << 29) - 1)

#define INLINE_BYTES 16
#define PREPARED 16 /* edges per state whose lookups are prepared together */
#define PREFETCHED_VALUES 64
#define MAX_KEY_CHARS 0xFFFF

#define POOLED 1 /* the key's characters are in the table's pool, at `at.offset` */
#define RULE 2   /* the step ends one rule: `step.rule` is its id (no read of `names` on the way) */

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
    } u;
    uint32_t pid;
    int32_t first;    /* -1: `other` (a Python `ValueIndex`); 0: no prefixes; else the first cut */
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

/* An `other` edge: its `ValueIndex` finds the `Hit`s, (rule ids, nodes) pairs. */
static int
take_other(Walk *w, const Edge *e, PyObject *value)
{
    const Program *p = w->p;
    PyObject *hits;
    if (value == p->missing) {
        hits = Py_NewRef(e->u.other.absent);
    }
    else {
        hits = PyList_New(0);
        if (hits == NULL) {
            return -1;
        }
        PyObject *probe = Py_IS_TYPE(value, (PyTypeObject *)p->many) ? e->u.other.collect : e->u.other.one;
        PyObject *none = PyObject_CallFunctionObjArgs(probe, value, hits, NULL);
        if (none == NULL) {
            Py_DECREF(hits);
            return -1;
        }
        Py_DECREF(none);
    }
    /* `hits` holds the ids it returns (a fresh list, or the index's own), and the ids it returns
     * are held by the index's targets, which live as long as the program: borrowing them in
     * `found` until the walk ends is safe. */
    int status = 0;
    for (Py_ssize_t i = 0; status == 0 && i < PyList_GET_SIZE(hits); i++) {
        PyObject *hit = PyList_GET_ITEM(hits, i);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(hit, 0))
            || !PyTuple_Check(PyTuple_GET_ITEM(hit, 1))) {
            PyErr_SetString(PyExc_TypeError, "a Hit must be a (rule ids, nodes) pair of tuples");
            status = -1;
            break;
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
                status = -1;
            }
            else {
                Py_ssize_t n = PyLong_AsSsize_t(index);
                if (n < 0 || n >= p->node_count) {
                    if (!PyErr_Occurred()) {
                        PyErr_SetString(PyExc_ValueError, "a node index is out of range");
                    }
                    status = -1;
                }
                else {
                    status = reach(w, (uint32_t)n);
                }
            }
        }
    }
    Py_DECREF(hits);
    return status;
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
    if (first < -1 || first > MAX_KEY_CHARS) {
        return fail("an edge's first prefix length is out of range");
    }
    if (exact < -1 || exact >= p->table_count || links < -1 || links >= p->table_count) {
        return fail("an edge's table is out of range");
    }
    e->pid = (uint32_t)pid;
    e->first = (int32_t)first;
    if (e->first < 0) {
        PyObject *one = PyTuple_GET_ITEM(spec, 5), *absent = PyTuple_GET_ITEM(spec, 6);
        PyObject *collect = PyTuple_GET_ITEM(spec, 7);
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
            if (build_edge(p, &p->edges[at], PyList_GET_ITEM(edges, i)) < 0) {
                return -1;
            }
            at++;
            p->edge_count = at; /* so that dealloc releases the references taken so far */
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
        if (self->edges[i].first < 0) {
            Py_XDECREF(self->edges[i].u.other.one);
            Py_XDECREF(self->edges[i].u.other.absent);
            Py_XDECREF(self->edges[i].u.other.collect);
        }
    }
    for (Py_ssize_t t = 0; self->tables != NULL && t < self->table_count; t++) {
        free(self->tables[t].slots);
        PyMem_Free(self->tables[t].pool);
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

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ccbridge.core.rules._walk.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = program_doc,
    .tp_methods = Program_methods,
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
        || PyModule_AddIntConstant(module, "MAX_ARG", MAX_ARG) < 0
        || PyModule_AddIntConstant(module, "MAX_KEY_CHARS", MAX_KEY_CHARS) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
