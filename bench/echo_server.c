/*
 * A C thread-per-connection NDJSON server on a Unix socket: the leanest baseline for rolloutd's
 * idle memory (make bench). Each line is answered {"jsonrpc":"2.0","id":<id>,"result":{}} with the
 * request's "id" value copied as it was written (a number or a string without escapes); a line
 * without an id gets no answer. No JSON validation: it is a floor, not a server.
 *
 *   cc -O2 -pthread -o echo-server bench/echo_server.c
 *   echo-server /path/to.sock      (prints "ready" on stdout once listening; SIGTERM stops it)
 */
#define _GNU_SOURCE /* memmem, accept4 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *socket_path;

static void on_term(int sig) {
    (void)sig;
    unlink(socket_path);
    _exit(0);
}

static int write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Answers one line; returns -1 when the connection failed. */
static int answer(int fd, const char *line, size_t length) {
    const char *key = memmem(line, length, "\"id\"", 4);
    if (!key) return 0;
    const char *p = key + 4, *end = line + length;
    while (p < end && (*p == ' ' || *p == ':')) p++;
    const char *start = p;
    if (p < end && *p == '"') {
        p++;
        while (p < end && *p != '"') p++;
        if (p < end) p++;
    } else {
        while (p < end && *p != ',' && *p != '}' && *p != ' ') p++;
    }
    char out[512];
    int n = snprintf(out, sizeof out, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{}}\n", (int)(p - start), start);
    if (n <= 0 || (size_t)n >= sizeof out) return 0;
    return write_all(fd, out, (size_t)n);
}

static void *serve(void *argument) {
    int fd = (int)(long)argument;
    size_t capacity = 65536, used = 0;
    char *buffer = malloc(capacity);
    while (buffer) {
        ssize_t n = read(fd, buffer + used, capacity - used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += (size_t)n;
        size_t begin = 0;
        for (size_t i = 0; i < used; i++) {
            if (buffer[i] != '\n') continue;
            if (answer(fd, buffer + begin, i - begin) < 0) goto done;
            begin = i + 1;
        }
        memmove(buffer, buffer + begin, used - begin);
        used -= begin;
        if (used == capacity) used = 0; /* an over-long line: dropped */
    }
done:
    free(buffer);
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    socket_path = argv[1];
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (listener < 0 || strlen(socket_path) >= sizeof address.sun_path) return 1;
    strcpy(address.sun_path, socket_path);
    unlink(socket_path);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 128) != 0) {
        perror("bind/listen");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            perror("accept");
            return 1;
        }
        pthread_t thread;
        if (pthread_create(&thread, &attributes, serve, (void *)(long)fd) != 0) close(fd);
    }
}
