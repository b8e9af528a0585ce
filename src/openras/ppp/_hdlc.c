/* HDLC-like framing of RFC 1662 §4 for the PPP data path: whole batches of frames in C.
 *
 * Python's fastest framing (memchr-driven bytes.replace, fastcrc, NumPy) still paid about
 * 1 µs to send and 2.3 µs to receive a 1,500-byte packet; no maintained library frames PPP.
 * This module escapes and unescapes in one pass per frame, finding escapes and flags sixteen
 * octets at a time (SSE2); the FCS (CRC-16/X.25) of a long frame is fastcrc's (SIMD), called
 * from here, of a short one a table's. It decides nothing unusual: any frame that is
 * not a good data frame stops the decoder, and Python's exact path (hdlc.Deframer) takes it
 * and everything after it. Without a compiler the package falls back to that path.
 *
 *   encode_frames(packets, prefix, accm) -> bytes
 *   decode_frames(data, first, last, protocols, max_frame, packets) -> (stop, count)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define FLAG 0x7E
#define ESC 0x7D
#define FCS_GOOD 0x0F47 /* the FCS of any frame followed by its own FCS (RFC 1662 §C.2) */
#define MAX_PROTOCOLS 16

static unsigned char accm0_escapes[256]; /* 1 for the octets ACCM 0 escapes: 0x7D, 0x7E */
static PyObject *crc; /* fastcrc.crc16.ibm_sdlc(data, initial=None): SIMD, 1,500 octets ~60 ns */

#define SHORT_FRAME 256 /* up to this, the table below beats a call to fastcrc */
static uint16_t crc_table[8][256];

static void crc_init(void)
{
    for (int n = 0; n < 256; n++) {
        uint16_t c = (uint16_t)n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (uint16_t)((c >> 1) ^ 0x8408) : (uint16_t)(c >> 1);
        crc_table[0][n] = c;
    }
    for (int n = 0; n < 256; n++) /* slicing by eight: table k is a byte k places further */
        for (int k = 1; k < 8; k++)
            crc_table[k][n] = (uint16_t)((crc_table[k - 1][n] >> 8)
                                         ^ crc_table[0][crc_table[k - 1][n] & 0xFF]);
}

/* The FCS register after p[0:n], from `crc` (0xFFFF to begin; the FCS is its complement). */
static uint16_t crc_short(uint16_t crc, const unsigned char *p, Py_ssize_t n)
{
    for (; n >= 8; p += 8, n -= 8)
        crc = crc_table[7][p[0] ^ (crc & 0xFF)] ^ crc_table[6][p[1] ^ (crc >> 8)]
              ^ crc_table[5][p[2]] ^ crc_table[4][p[3]] ^ crc_table[3][p[4]]
              ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
    while (n-- > 0)
        crc = (uint16_t)((crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xFF]);
    return crc;
}

/* The FCS of `data` (bytes-like, its octets at p[0:n]), continuing from the FCS `initial`
 * (NULL: from the start) whose register `reg` is (0xFFFF, else initial ^ 0xFFFF); -1 with an
 * exception set on failure. Short data by table, the rest by fastcrc. */
static long fcs_of(PyObject *data, const unsigned char *p, Py_ssize_t n, PyObject *initial,
                   uint16_t reg)
{
    if (n <= SHORT_FRAME)
        return crc_short(reg, p, n) ^ 0xFFFF;
    PyObject *args[2] = {data, initial};
    PyObject *value = PyObject_Vectorcall(crc, args, initial != NULL ? 2 : 1, NULL);
    if (value == NULL)
        return -1;
    long fcs = PyLong_AsLong(value);
    Py_DECREF(value);
    return fcs;
}

/* The index of the first 0x7D or 0x7E in p[0:n], or n: sixteen octets at a time with SSE2
 * (every x86-64 has it), else eight at a time in a 64-bit word. */
static inline Py_ssize_t find_special(const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#ifdef __SSE2__
    const __m128i flag = _mm_set1_epi8(FLAG), esc = _mm_set1_epi8(ESC);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, flag), _mm_cmpeq_epi8(v, esc));
        int hits = _mm_movemask_epi8(special);
        if (hits)
            return i + __builtin_ctz((unsigned)hits);
    }
#else
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, a, b;
        memcpy(&w, p + i, 8);
        a = w ^ 0x7E7E7E7E7E7E7E7EULL;
        b = w ^ 0x7D7D7D7D7D7D7D7DULL;
        if ((((a - ones) & ~a) | ((b - ones) & ~b)) & highs)
            break; /* somewhere in these eight */
    }
#endif
    for (; i < n; i++)
        if (p[i] == FLAG || p[i] == ESC)
            return i;
    return n;
}

/* Copies p[0:n] to o escaped; `escapes` flags the octets to escape (under ACCM 0 only 0x7D
 * and 0x7E: runs between them are copied whole). Returns the new end. */
static unsigned char *put_escaped(unsigned char *o, const unsigned char *p, Py_ssize_t n,
                                  const unsigned char *escapes, int accm0)
{
    if (accm0) {
        for (;;) {
            Py_ssize_t run = find_special(p, n);
            memcpy(o, p, (size_t)run);
            o += run;
            if (run == n)
                return o;
            *o++ = ESC;
            *o++ = p[run] ^ 0x20;
            p += run + 1;
            n -= run + 1;
        }
    }
    while (n-- > 0) {
        unsigned char c = *p++;
        if (escapes[c]) {
            *o++ = ESC;
            *o++ = c ^ 0x20;
        } else {
            *o++ = c;
        }
    }
    return o;
}

static void release_all(Py_buffer *views, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++)
        PyBuffer_Release(&views[i]);
}

/* encode_frames(packets, prefix, accm): for each packet, flag, prefix + packet + FCS escaped
 * under `accm` (the peer's receive ACCM; 0x7D and 0x7E always), flag. */
static PyObject *encode_frames(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *packets, *seq, *out = NULL, *initial = NULL;
    Py_buffer prefix;
    unsigned long accm;
    if (!PyArg_ParseTuple(args, "Oy*k:encode_frames", &packets, &prefix, &accm))
        return NULL;
    seq = PySequence_Fast(packets, "packets must be a sequence of bytes-like objects");
    if (seq == NULL) {
        PyBuffer_Release(&prefix);
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq), held = 0;
    if (prefix.len > 64) {
        PyErr_SetString(PyExc_ValueError, "a frame prefix is at most 64 octets");
        Py_DECREF(seq);
        PyBuffer_Release(&prefix);
        return NULL;
    }
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_buffer *views = PyMem_New(Py_buffer, count > 0 ? count : 1);
    if (views == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* Room for the worst case, every octet escaped; shrunk at the end. */
    Py_ssize_t room = 0;
    for (; held < count; held++) {
        if (PyObject_GetBuffer(items[held], &views[held], PyBUF_SIMPLE) < 0)
            goto done;
        Py_ssize_t frame = 2 + 2 * (prefix.len + views[held].len + 2);
        if (views[held].len > PY_SSIZE_T_MAX / 4 || room > PY_SSIZE_T_MAX - frame) {
            held++;
            PyErr_NoMemory();
            goto done;
        }
        room += frame;
    }
    unsigned char escapes[256];
    memcpy(escapes, accm0_escapes, sizeof escapes);
    for (int c = 0; c < 32; c++)
        if (accm & (1UL << c))
            escapes[c] = 1;
    int accm0 = (accm & 0xFFFFFFFFUL) == 0;
    out = PyBytes_FromStringAndSize(NULL, room);
    if (out == NULL)
        goto done;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    uint16_t prefix_reg = crc_short(0xFFFF, prefix.buf, prefix.len);
    initial = PyLong_FromLong(prefix_reg ^ 0xFFFF); /* fastcrc continues from an FCS */
    if (initial == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < count; i++) {
        const unsigned char *p = views[i].buf;
        long fcs = fcs_of(items[i], p, views[i].len, initial, prefix_reg); /* prefix + packet */
        if (fcs < 0)
            goto fail;
        unsigned char tail[2] = {(unsigned char)(fcs & 0xFF), (unsigned char)(fcs >> 8)};
        *o++ = FLAG;
        o = put_escaped(o, prefix.buf, prefix.len, escapes, 0);
        o = put_escaped(o, p, views[i].len, escapes, accm0);
        o = put_escaped(o, tail, 2, escapes, 0);
        *o++ = FLAG;
    }
    Py_ssize_t used = (Py_ssize_t)(o - (unsigned char *)PyBytes_AS_STRING(out));
    if (used != room && _PyBytes_Resize(&out, used) < 0)
        out = NULL;
    goto done;
fail:
    Py_CLEAR(out);
done:
    Py_XDECREF(initial);
    if (views != NULL) {
        release_all(views, held);
        PyMem_Free(views);
    }
    Py_DECREF(seq);
    PyBuffer_Release(&prefix);
    return out;
}

/* The unescaped octets of the frame starting at data[start] (after a flag) into body, up to
 * `room` of them. Returns the index of its closing flag, or -1 when the frame must go to the
 * exact path: aborted (0x7D before the flag) or longer than `room`. *size gets the length. */
static Py_ssize_t unescape_frame(const unsigned char *data, Py_ssize_t start, Py_ssize_t last,
                                 unsigned char *body, Py_ssize_t room, Py_ssize_t *size)
{
    Py_ssize_t i = start, o = 0;
    for (;;) {
        /* data[last] is a flag: the search always ends at or before it. */
        Py_ssize_t run = find_special(data + i, last + 1 - i);
        if (o + run > room || i + run > last) /* the second: never, while data[last] is a flag */
            return -1;
        memcpy(body + o, data + i, (size_t)run);
        o += run;
        i += run;
        if (data[i] == FLAG) {
            *size = o;
            return i;
        }
        /* An escape, so i < last. 7D 7E is the abort sequence; a frame too long goes too. */
        if (data[i + 1] == FLAG || o >= room)
            return -1;
        body[o++] = data[i + 1] ^ 0x20;
        i += 2;
    }
}

/* decode_frames(data, first, last, protocols, max_frame, packets): the frames between the
 * flags at data[first] and data[last], in order, while each is a good frame (size, FCS,
 * header as hdlc.Deframer.decode checks them) of one of `protocols`: its information is
 * appended to `packets`. Returns (stop, count): the flag that begins the first frame left for
 * the exact path (`last` when none is), and how many were appended. */
static PyObject *decode_frames(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *octets, *protocols, *packets, *result = NULL, *seq = NULL;
    Py_ssize_t first, last, max_frame;
    long wanted[MAX_PROTOCOLS];
    /* bytes only: immutable, so the flag at `last` that ends every scan stays there while
     * fastcrc runs without the GIL. */
    if (!PyArg_ParseTuple(args, "O!nnOnO!:decode_frames", &PyBytes_Type, &octets, &first, &last,
                          &protocols, &max_frame, &PyList_Type, &packets))
        return NULL;
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(octets);
    Py_ssize_t length = PyBytes_GET_SIZE(octets);
    unsigned char *body = NULL;
    if (first < 0 || last < first || last >= length || data[first] != FLAG
        || data[last] != FLAG) {
        PyErr_SetString(PyExc_ValueError, "first and last must be flags, first <= last");
        goto done;
    }
    if (max_frame < 4 || max_frame > (1 << 24)) {
        PyErr_SetString(PyExc_ValueError, "max_frame must be 4 to 2**24");
        goto done;
    }
    seq = PySequence_Fast(protocols, "protocols must be a sequence of ints");
    if (seq == NULL)
        goto done;
    Py_ssize_t nproto = PySequence_Fast_GET_SIZE(seq);
    if (nproto > MAX_PROTOCOLS) {
        PyErr_SetString(PyExc_ValueError, "at most 16 protocols");
        goto done;
    }
    for (Py_ssize_t k = 0; k < nproto; k++) {
        wanted[k] = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, k));
        if (wanted[k] == -1 && PyErr_Occurred())
            goto done;
    }
    body = PyMem_Malloc((size_t)max_frame + 8);
    if (body == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t pos = first, count = 0;
    while (pos < last) {
        Py_ssize_t size;
        Py_ssize_t end = unescape_frame(data, pos + 1, last, body, max_frame, &size);
        if (end < 0)
            break;
        if (end == pos + 1) { /* back-to-back flags: nothing between frames */
            pos = end;
            continue;
        }
        if (size < 4)
            break;
        long fcs;
        if (size <= SHORT_FRAME) {
            fcs = fcs_of(NULL, body, size, NULL, 0xFFFF);
        } else {
            PyObject *frame = PyMemoryView_FromMemory((char *)body, size, PyBUF_READ);
            if (frame == NULL)
                goto done;
            fcs = fcs_of(frame, body, size, NULL, 0xFFFF);
            Py_DECREF(frame);
            if (fcs < 0)
                goto done;
        }
        if (fcs != FCS_GOOD)
            break;
        Py_ssize_t at = (body[0] == 0xFF && body[1] == 0x03) ? 2 : 0, stop = size - 2;
        if (at >= stop)
            break;
        long protocol = body[at];
        if (protocol & 1) {
            at += 1;
        } else {
            if (stop - at < 2 || !(body[at + 1] & 1))
                break;
            protocol = protocol << 8 | body[at + 1];
            at += 2;
        }
        int known = 0;
        for (Py_ssize_t k = 0; k < nproto; k++)
            known |= wanted[k] == protocol;
        if (!known)
            break;
        PyObject *info = PyBytes_FromStringAndSize((const char *)body + at, stop - at);
        if (info == NULL || PyList_Append(packets, info) < 0) {
            Py_XDECREF(info);
            goto done;
        }
        Py_DECREF(info);
        count++;
        pos = end;
    }
    result = Py_BuildValue("nn", pos, count);
done:
    PyMem_Free(body);
    Py_XDECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"encode_frames", encode_frames, METH_VARARGS,
     "encode_frames(packets, prefix, accm) -> bytes: each packet framed, prefix first."},
    {"decode_frames", decode_frames, METH_VARARGS,
     "decode_frames(data, first, last, protocols, max_frame, packets) -> (stop, count)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_hdlc", "HDLC-like framing of whole batches in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__hdlc(void)
{
    accm0_escapes[FLAG] = accm0_escapes[ESC] = 1;
    crc_init();
    PyObject *crc16 = PyImport_ImportModule("fastcrc.crc16");
    if (crc16 == NULL)
        return NULL;
    crc = PyObject_GetAttrString(crc16, "ibm_sdlc");
    Py_DECREF(crc16);
    if (crc == NULL)
        return NULL;
    return PyModule_Create(&module);
}
