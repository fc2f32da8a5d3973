/* wsbench: native WebSocket peers for basetap's benchmarks, so that what is measured is basetap
 * and not a Python peer (which is slower than basetap and would measure itself).
 *
 *   wsbench echo PORT
 *       An epoll echo server on 127.0.0.1:PORT: answers each upgrade with 101, echoes every data
 *       frame back (unmasked, same opcode and FIN), answers pings and closes. Prints "listening".
 *   wsbench sessions PORT SECONDS WORKERS FILE
 *       WORKERS threads, each opening one connection per session for SECONDS: the upgrade, every
 *       line of FILE sent as a text message, every answer read, a Close. Prints messages/s.
 *   wsbench load PORT SECONDS CONNECTIONS INFLIGHT SIZE [RATE]
 *       CONNECTIONS connections from one epoll thread, each keeping INFLIGHT text BaseMessages of
 *       SIZE bytes outstanding against an echo server (or, with RATE, sending RATE messages/s in
 *       all, for latency at a fixed offered load). Prints messages/s, MB/s (one way) and the p50
 *       and p99 round-trip latency in microseconds on one line.
 *   wsbench flood PORT FRAGMENTS
 *       One connection: a text frame without FIN, FRAGMENTS empty continuation frames, the final
 *       frame, then a whole message; waits for both echoes. Prints the seconds it took.
 *
 * Plain sockets, no library: the SHA-1 of the accept key is computed here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BUFFER (64u << 20)

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept ---- */

static uint32_t rol(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

static void sha1(const unsigned char *data, size_t len, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char *msg = calloc(total, 1);
    memcpy(msg, data, len);
    msg[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) msg[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)msg[off + 4 * i] << 24 | (uint32_t)msg[off + 4 * i + 1] << 16 | (uint32_t)msg[off + 4 * i + 2] << 8 | msg[off + 4 * i + 3];
        for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol(b, 30); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    free(msg);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static void base64(const unsigned char *in, size_t len, char *out) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
        out[o++] = table[(v >> 18) & 63];
        out[o++] = table[(v >> 12) & 63];
        out[o++] = i + 1 < len ? table[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? table[v & 63] : '=';
    }
    out[o] = 0;
}

/* ---- growable byte buffers ---- */

typedef struct {
    unsigned char *data;
    size_t len, cap, start;
} buffer;

static int append(buffer *b, const void *data, size_t len) {
    if (b->start > 0 && b->start == b->len) b->start = b->len = 0;
    if (b->len + len > b->cap) {
        if (b->start > 0) {
            memmove(b->data, b->data + b->start, b->len - b->start);
            b->len -= b->start;
            b->start = 0;
        }
        if (b->len + len > MAX_BUFFER) return -1;
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + len) cap *= 2;
        if (cap != b->cap) {
            b->data = realloc(b->data, cap);
            b->cap = cap;
        }
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

/* Frame header size and payload length of the frame at p (n bytes there), or 0 when incomplete. */
static size_t frame_header(const unsigned char *p, size_t n, uint64_t *length) {
    if (n < 2) return 0;
    size_t header = 2;
    uint64_t len = p[1] & 0x7F;
    if (len == 126) {
        if (n < 4) return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        header = 4;
    } else if (len == 127) {
        if (n < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
        header = 10;
    }
    if (p[1] & 0x80) header += 4;
    *length = len;
    return header;
}

/* Moves past the 101 answer's head once it has all arrived; 0 while it is incomplete. */
static int past_head(buffer *in, int *upgraded) {
    if (*upgraded) return 1;
    unsigned char *end = memmem(in->data + in->start, in->len - in->start, "\r\n\r\n", 4);
    if (!end) return 0;
    in->start = (size_t)(end + 4 - in->data);
    *upgraded = 1;
    return 1;
}

/* Moves past the next complete frame, giving its first byte; 0 when none is complete yet. */
static int next_frame(buffer *in, unsigned char *first) {
    uint64_t len;
    size_t header = frame_header(in->data + in->start, in->len - in->start, &len);
    if (!header || in->len - in->start < header + len) return 0;
    *first = in->data[in->start];
    in->start += header + (size_t)len;
    return 1;
}

static size_t put_header(unsigned char *out, unsigned char first, uint64_t len, int masked) {
    size_t n = 0;
    out[n++] = first;
    unsigned char mask = masked ? 0x80 : 0;
    if (len < 126) {
        out[n++] = mask | (unsigned char)len;
    } else if (len < 65536) {
        out[n++] = mask | 126;
        out[n++] = (unsigned char)(len >> 8);
        out[n++] = (unsigned char)len;
    } else {
        out[n++] = mask | 127;
        for (int i = 7; i >= 0; i--) out[n++] = (unsigned char)(len >> (8 * i));
    }
    return n;
}

/* ---- echo server ---- */

typedef struct {
    int fd;
    int upgraded, closing;
    buffer in, out;
} connection;

static void flush_out(connection *c) {
    while (c->out.start < c->out.len) {
        ssize_t w = write(c->fd, c->out.data + c->out.start, c->out.len - c->out.start);
        if (w <= 0) return;
        c->out.start += (size_t)w;
    }
}

static int serve(connection *c) {
    if (!c->upgraded) {
        unsigned char *head = c->in.data + c->in.start;
        size_t n = c->in.len - c->in.start;
        unsigned char *end = memmem(head, n, "\r\n\r\n", 4);
        if (!end) return n > 65536 ? -1 : 0;
        char *key = memmem(head, (size_t)(end - head), "Sec-WebSocket-Key:", 18);
        if (!key) key = memmem(head, (size_t)(end - head), "sec-websocket-key:", 18);
        if (!key) {
            const char *bad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            append(&c->out, bad, strlen(bad));
            return -1;
        }
        key += 18;
        while (*key == ' ') key++;
        char *stop = key;
        while (stop < (char *)end && *stop != '\r') stop++;
        unsigned char material[256], digest[20];
        size_t klen = (size_t)(stop - key);
        if (klen > 200) return -1;
        memcpy(material, key, klen);
        memcpy(material + klen, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
        sha1(material, klen + 36, digest);
        char accept[32], answer[256];
        base64(digest, 20, accept);
        int len = snprintf(answer, sizeof answer, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
        append(&c->out, answer, (size_t)len);
        c->in.start += (size_t)(end + 4 - head);
        c->upgraded = 1;
    }
    for (;;) {
        unsigned char *p = c->in.data + c->in.start;
        size_t n = c->in.len - c->in.start;
        uint64_t len;
        size_t header = frame_header(p, n, &len);
        if (!header || n < header + len) return 0;
        unsigned char *payload = p + header;
        if (p[1] & 0x80) {
            unsigned char *mask = p + header - 4;
            for (uint64_t i = 0; i < len; i++) payload[i] ^= mask[i & 3];
        }
        unsigned char opcode = p[0] & 0x0F, out[14];
        unsigned char first = p[0] & 0x8F;  /* RSV bits cleared: nothing was negotiated */
        if (opcode == 9) first = 0x8A;
        size_t h = put_header(out, first, len, 0);
        if (append(&c->out, out, h) || append(&c->out, payload, (size_t)len)) return -1;
        c->in.start += header + (size_t)len;
        if (opcode == 8) {
            c->closing = 1;
            return -1;
        }
    }
}

static int echo(int port) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 4096)) {
        perror("wsbench echo: listen");
        return 2;
    }
    int ep = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &event);
    printf("listening\n");
    fflush(stdout);
    struct epoll_event events[256];
    unsigned char chunk[262144];
    for (;;) {
        int ready = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < ready; i++) {
            connection *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    connection *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            int done = 0;
            for (;;) {
                ssize_t r = read(c->fd, chunk, sizeof chunk);
                if (r > 0) {
                    if (append(&c->in, chunk, (size_t)r) || serve(c) < 0) { done = 1; break; }
                    continue;
                }
                if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) done = 1;
                break;
            }
            flush_out(c);
            if (done) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c->in.data);
                free(c->out.data);
                free(c);
            }
        }
    }
}

/* ---- session client ---- */

static char **lines;
static size_t line_count;
static int target_port;
static double deadline;
static long long total_messages;
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *sessions(void *arg) {
    (void)arg;
    unsigned char *frame = malloc(MAX_BUFFER), chunk[65536];
    buffer in = {0};
    long long count = 0;
    while (now() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(fd, (struct sockaddr *)&address, sizeof address)) { close(fd); continue; }
        char head[256];
        int hl = snprintf(head, sizeof head, "GET /fuzz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", target_port);
        write_all(fd, (unsigned char *)head, (size_t)hl);
        in.start = in.len = 0;
        int upgraded = 0;
        size_t answered = 0;
        size_t sent = 0;
        while (answered < line_count) {
            if (upgraded && sent < line_count) {
                /* every message of the session at once, as the fuzzer sends them */
                for (; sent < line_count; sent++) {
                    size_t len = strlen(lines[sent]);
                    size_t h = put_header(frame, 0x81, len, 1);
                    memset(frame + h, 0, 4);  /* a zero mask keeps the payload as it is */
                    memcpy(frame + h + 4, lines[sent], len);
                    write_all(fd, frame, h + 4 + len);
                }
            }
            ssize_t r = read(fd, chunk, sizeof chunk);
            if (r <= 0) break;
            append(&in, chunk, (size_t)r);
            if (!past_head(&in, &upgraded)) continue;
            for (unsigned char first; next_frame(&in, &first);) answered++;
        }
        unsigned char close_frame[8] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8};
        write_all(fd, close_frame, sizeof close_frame);
        while (read(fd, chunk, sizeof chunk) > 0) {}
        close(fd);
        if (answered == line_count) count += (long long)line_count;
    }
    pthread_mutex_lock(&total_lock);
    total_messages += count;
    pthread_mutex_unlock(&total_lock);
    free(frame);
    free(in.data);
    return NULL;
}

static int run_sessions(int port, double seconds, int workers, const char *file) {
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n') line[--n] = 0;
        if (n == 0) continue;
        lines = realloc(lines, (line_count + 1) * sizeof *lines);
        lines[line_count++] = strdup(line);
    }
    fclose(f);
    target_port = port;
    double started = now();
    deadline = started + seconds;
    pthread_t *threads = calloc((size_t)workers, sizeof *threads);
    for (int i = 0; i < workers; i++) pthread_create(&threads[i], NULL, sessions, NULL);
    for (int i = 0; i < workers; i++) pthread_join(threads[i], NULL);
    printf("%.0f messages/s\n", (double)total_messages / (now() - started));
    return 0;
}

/* ---- load client ---- */

typedef struct {
    int fd;
    int upgraded;
    buffer in;
    double *sent_at; /* ring of send times, answers come back in order */
    size_t ring, head, tail;
    long long next_id;
} load_connection;

static unsigned char *message_template;
static size_t message_size;

/* A text BaseMessage of exactly message_size bytes: {"id":"<n>","type":"bench.echo","payload":{"text":"xxx"}} */
static size_t build_message(unsigned char *out, long long id) {
    char prefix[96];
    int pl = snprintf(prefix, sizeof prefix, "{\"id\":\"m%lld\",\"type\":\"bench.echo\",\"payload\":{\"text\":\"", id);
    const char *suffix = "\"}}";
    size_t fill = message_size > (size_t)pl + 3 ? message_size - (size_t)pl - 3 : 0;
    size_t len = (size_t)pl + fill + 3;
    size_t h = put_header(out, 0x81, len, 1);
    memset(out + h, 0, 4);
    memcpy(out + h + 4, prefix, (size_t)pl);
    memcpy(out + h + 4 + pl, message_template, fill);
    memcpy(out + h + 4 + pl + fill, suffix, 3);
    return h + 4 + len;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int send_one(load_connection *c, unsigned char *frame) {
    size_t n = build_message(frame, c->next_id++);
    if (write_all(c->fd, frame, n)) return -1;
    c->sent_at[c->tail % c->ring] = now();
    c->tail++;
    return 0;
}

static int run_load(int port, double seconds, int count, int inflight, size_t size, double rate) {
    message_size = size;
    message_template = malloc(size + 1);
    memset(message_template, 'x', size);
    unsigned char *frame = malloc(size + 64), chunk[262144];
    load_connection *conns = calloc((size_t)count, sizeof *conns);
    int ep = epoll_create1(0), one = 1;
    for (int i = 0; i < count; i++) {
        load_connection *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(c->fd, (struct sockaddr *)&address, sizeof address)) {
            perror("wsbench load: connect");
            return 2;
        }
        char head[256];
        int hl = snprintf(head, sizeof head, "GET /bench HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", port);
        write_all(c->fd, (unsigned char *)head, (size_t)hl);
        c->ring = (size_t)(rate > 0 ? 65536 : inflight + 1);
        c->sent_at = calloc(c->ring, sizeof(double));
        c->next_id = (long long)i << 40;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    }
    size_t samples_cap = 1 << 22, samples = 0;
    double *latency = malloc(samples_cap * sizeof(double));
    long long answered = 0;
    int upgraded = 0;
    double started = 0, end = 0, next_send = 0, interval = rate > 0 ? 1.0 / rate : 0;
    int turn = 0;
    struct epoll_event events[256];
    for (;;) {
        double t = now();
        if (upgraded == count && started == 0) {
            started = t;
            end = t + seconds;
            next_send = t;
            if (rate <= 0)
                for (int i = 0; i < count; i++)
                    for (int k = 0; k < inflight; k++) send_one(&conns[i], frame);
        }
        if (started > 0 && t >= end) break;
        if (started > 0 && rate > 0) {
            while (next_send <= t) {
                send_one(&conns[turn++ % count], frame);
                next_send += interval;
            }
        }
        /* At a fixed rate, sleep until the next send is due (whole milliseconds: what is due is sent in a burst). */
        int wait_ms = started > 0 && rate > 0 ? (next_send - now() > 0.001 ? (int)((next_send - now()) * 1000) : 1) : 100;
        int ready = epoll_wait(ep, events, 256, wait_ms);
        for (int i = 0; i < ready; i++) {
            load_connection *c = events[i].data.ptr;
            ssize_t r = read(c->fd, chunk, sizeof chunk);
            if (r <= 0) {
                fprintf(stderr, "wsbench load: a connection ended early\n");
                return 2;
            }
            append(&c->in, chunk, (size_t)r);
            if (!c->upgraded) {
                if (!past_head(&c->in, &c->upgraded)) continue;
                upgraded++;
            }
            double arrived = now();
            for (unsigned char first; next_frame(&c->in, &first);) {
                if (c->head < c->tail) {
                    if (samples < samples_cap) latency[samples++] = arrived - c->sent_at[c->head % c->ring];
                    c->head++;
                }
                if (started > 0 && arrived < end) {
                    answered++;
                    if (rate <= 0) send_one(c, frame);
                }
            }
            if (c->in.start == c->in.len) c->in.start = c->in.len = 0;
        }
    }
    double elapsed = now() - started;
    qsort(latency, samples, sizeof(double), cmp_double);
    double p50 = samples ? latency[samples / 2] : 0, p99 = samples ? latency[(size_t)(samples * 0.99)] : 0;
    printf("messages/s=%.0f MB/s=%.1f p50_us=%.0f p99_us=%.0f\n", answered / elapsed, answered * (double)size / elapsed / 1e6, p50 * 1e6, p99 * 1e6);
    return 0;
}

static int run_flood(int port, long fragments) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&address, sizeof address)) {
        perror("wsbench flood: connect");
        return 2;
    }
    double started = now();
    const char *head = "GET /flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    write_all(fd, (const unsigned char *)head, strlen(head));
    unsigned char first[] = {0x01, 0x81, 0, 0, 0, 0, 'x'};
    write_all(fd, first, sizeof first);
    enum { batch = 65536 };
    static unsigned char empties[batch * 6];
    for (int i = 0; i < batch; i++) {
        unsigned char *e = empties + i * 6;
        e[0] = 0x00; e[1] = 0x80; e[2] = e[3] = e[4] = e[5] = 0;
    }
    for (long sent = 0; sent < fragments; sent += batch) {
        long n = fragments - sent < batch ? fragments - sent : batch;
        if (write_all(fd, empties, (size_t)n * 6)) return 2;
    }
    unsigned char last[] = {0x80, 0x81, 0, 0, 0, 0, 'y', 0x81, 0x82, 0, 0, 0, 0, 'o', 'k'};
    write_all(fd, last, sizeof last);
    unsigned char chunk[65536];
    buffer in = {0};
    int echoes = 0, upgraded = 0;
    while (echoes < 2) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r <= 0) break;
        append(&in, chunk, (size_t)r);
        if (!past_head(&in, &upgraded)) continue;
        for (unsigned char first; next_frame(&in, &first);) echoes += first >> 7;
    }
    printf("%.2f s, %d of 2 echoes\n", now() - started, echoes);
    close(fd);
    return echoes == 2 ? 0 : 1;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && !strcmp(argv[1], "echo")) return echo(atoi(argv[2]));
    if (argc == 6 && !strcmp(argv[1], "sessions")) return run_sessions(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), argv[5]);
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "load"))
        return run_load(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), atoi(argv[5]), (size_t)atol(argv[6]), argc == 8 ? atof(argv[7]) : 0);
    if (argc == 4 && !strcmp(argv[1], "flood")) return run_flood(atoi(argv[2]), atol(argv[3]));
    fprintf(stderr, "usage: wsbench echo PORT | wsbench sessions PORT SECONDS WORKERS FILE\n"
                    "       wsbench load PORT SECONDS CONNECTIONS INFLIGHT SIZE [RATE] | wsbench flood PORT FRAGMENTS\n");
    return 2;
}
