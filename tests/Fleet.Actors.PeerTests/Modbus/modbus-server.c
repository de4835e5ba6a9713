/*
 * A Modbus server on libmodbus for the peer tests: a known register map over TCP on loopback or
 * over RTU on a serial device (a socat pseudo-terminal), answering until killed.
 *
 *   modbus-server tcp <port> [option...]
 *   modbus-server rtu <device> [option...]
 *
 * Options, for the tests' misbehaving devices:
 *   baud=N          RTU line speed (115200)
 *   late-first=MS   answer the first request MS milliseconds late (after a client gave up on it)
 *   tid=N           answer with transaction id N whatever the request's (TCP: a broken gateway)
 *   garble          answer every request with a malformed frame (RTU: bad CRC; TCP: protocol id 1)
 *   once            serve one TCP connection, then exit (a device that accepts one connection)
 *   multi           TCP: serve several connections at once (a second client reads while the agent holds its own)
 *   log-writes      print "write fc=F address=A values=V,V,..." on stdout for every write the map took,
 *                   the values as the map holds them after it (a write refused with an exception prints nothing)
 * A write to unit 0 over RTU is a broadcast: libmodbus carries it out and does not answer it.
 *
 * Prints "ready" on stdout once it listens (TCP) or has opened the device (RTU).
 * SIGUSR1: hold the next answers (a request received meanwhile is answered late, after SIGUSR2).
 * SIGUSR2: answer again.
 *
 * The map (0-based addresses; every table starts at 0 and has 100 entries):
 *   holding  0..9   zero, for the tests' writes
 *            10     u16 0xBEEF            11     i16 -1234
 *            12..13 i32 -123456789 ABCD
 *            20..27 u32 0x12345678 in ABCD, CDAB, BADC, DCBA
 *            30..37 f32 123.456 in ABCD, CDAB, BADC, DCBA
 *            40..43 u64 0x0123456789ABCDEF ABCD   44..47 i64 -2 ABCD
 *            48..51 f64 -9876.54321 ABCD          52..55 f64 -9876.54321 DCBA
 *            60..64 "FLEET-PLC1"                  70     bits 0xA005
 *   input    0..9   1000 + address
 *   coils    0..9   zero, for writes;  10..19 1,0,1,1,0,0,1,0,1,1
 *   discrete 0..15  on where address % 3 == 0
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <modbus.h>

static volatile sig_atomic_t held = 0;
static int late_first_ms = 0;
static int answer_tid = -1;
static int garble = 0;
static int once = 0;
static int multi = 0;
static int log_writes = 0;

static void hold(int sig) { (void)sig; held = 1; }
static void release(int sig) { (void)sig; held = 0; }

static void set4(uint16_t *r, uint16_t a, uint16_t b, uint16_t c, uint16_t d) { r[0] = a; r[1] = b; r[2] = c; r[3] = d; }

static void fill(modbus_mapping_t *m)
{
    uint16_t *h = m->tab_registers;
    h[10] = 0xBEEF;
    h[11] = (uint16_t)(int16_t)-1234;
    h[12] = 0xF8A4; h[13] = 0x32EB;
    /* u32 0x12345678: bytes A=12 B=34 C=56 D=78 */
    h[20] = 0x1234; h[21] = 0x5678;
    h[22] = 0x5678; h[23] = 0x1234;
    h[24] = 0x3412; h[25] = 0x7856;
    h[26] = 0x7856; h[27] = 0x3412;
    /* f32 123.456 = 0x42F6E979 */
    h[30] = 0x42F6; h[31] = 0xE979;
    h[32] = 0xE979; h[33] = 0x42F6;
    h[34] = 0xF642; h[35] = 0x79E9;
    h[36] = 0x79E9; h[37] = 0xF642;
    set4(h + 40, 0x0123, 0x4567, 0x89AB, 0xCDEF);
    set4(h + 44, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE);
    /* f64 -9876.54321 = 0xC0C34A4587E7C06E */
    set4(h + 48, 0xC0C3, 0x4A45, 0x87E7, 0xC06E);
    set4(h + 52, 0x6EC0, 0xE787, 0x454A, 0xC3C0);
    const char *text = "FLEET-PLC1";
    for (int i = 0; i < 5; i++) h[60 + i] = (uint16_t)((text[2 * i] << 8) | text[2 * i + 1]);
    h[70] = 0xA005;
    for (int i = 0; i < 10; i++) m->tab_input_registers[i] = (uint16_t)(1000 + i);
    const uint8_t coils[] = { 1, 0, 1, 1, 0, 0, 1, 0, 1, 1 };
    memcpy(m->tab_bits + 10, coils, sizeof coils);
    for (int i = 0; i < 16; i++) m->tab_input_bits[i] = (i % 3 == 0);
}

/* A frame no client can take: an RTU answer with a bad CRC, or an MBAP header with protocol id 1. */
static void reply_garbled(modbus_t *ctx, const uint8_t *query, int tcp)
{
    const uint8_t rtu[] = { query[0], query[1], 2, 0x12, 0x34, 0xDE, 0xAD };
    const uint8_t mbap[] = { query[0], query[1], 0, 1, 0, 3, query[6], query[7], 0 };
    if (write(modbus_get_socket(ctx), tcp ? mbap : rtu, tcp ? sizeof mbap : sizeof rtu) < 0) perror("write");
}

/* Reports a write the map took (function 5, 6, 15 or 16 within the map) with the values it now holds. */
static void report_write(const uint8_t *query, int header, modbus_mapping_t *map)
{
    int function = query[header];
    int address = (query[header + 1] << 8) | query[header + 2];
    int count = function == 15 || function == 16 ? (query[header + 3] << 8) | query[header + 4] : 1;
    int coils = function == 5 || function == 15;
    if (function != 5 && function != 6 && function != 15 && function != 16) return;
    if (count < 1 || address + count > (coils ? map->nb_bits : map->nb_registers)) return;
    printf("write fc=%d address=%d values=", function, address);
    for (int i = 0; i < count; i++)
        printf(i == 0 ? "%d" : ",%d", coils ? map->tab_bits[address + i] : map->tab_registers[address + i]);
    printf("\n");
    fflush(stdout);
}

/* Receives and answers one request; returns modbus_receive's result. */
static int answer_one(modbus_t *ctx, modbus_mapping_t *map, int tcp)
{
    uint8_t query[MODBUS_MAX_ADU_LENGTH];
    int rc = modbus_receive(ctx, query);
    if (rc <= 0) return rc;
    while (held) usleep(10000);
    if (late_first_ms > 0) { usleep(late_first_ms * 1000); late_first_ms = 0; }
    if (tcp && answer_tid >= 0) { query[0] = (uint8_t)(answer_tid >> 8); query[1] = (uint8_t)answer_tid; }
    if (garble) reply_garbled(ctx, query, tcp);
    else
    {
        modbus_reply(ctx, query, rc, map);
        if (log_writes) report_write(query, modbus_get_header_length(ctx), map);
    }
    return rc;
}

/* Answers requests until the link fails; returns so that TCP can accept the next client. */
static void serve(modbus_t *ctx, modbus_mapping_t *map, int tcp)
{
    for (;;)
    {
        int rc = answer_one(ctx, map, tcp);
        if (rc == -1 && (errno == EMBBADCRC || errno == EMBBADDATA || errno == EINTR))
            continue;
        else if (rc == -1)
            return;
    }
}

/* TCP with several clients at once: select over the listener and every connection (libmodbus's own pattern). */
static int serve_many(modbus_t *ctx, modbus_mapping_t *map, int listener)
{
    fd_set clients;
    FD_ZERO(&clients);
    FD_SET(listener, &clients);
    int highest = listener;
    for (;;)
    {
        fd_set ready = clients;
        if (select(highest + 1, &ready, NULL, NULL, NULL) == -1)
        {
            if (errno == EINTR) continue;
            perror("select");
            return 1;
        }
        for (int fd = 0; fd <= highest; fd++)
        {
            if (!FD_ISSET(fd, &ready)) continue;
            if (fd == listener)
            {
                int client = accept(listener, NULL, NULL);
                if (client == -1) { perror("accept"); continue; }
                FD_SET(client, &clients);
                if (client > highest) highest = client;
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = answer_one(ctx, map, 1);
            if (rc == -1 && errno != EMBBADDATA && errno != EINTR)
            {
                close(fd);
                FD_CLR(fd, &clients);
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "rtu") != 0))
    {
        fprintf(stderr, "usage: %s tcp <port> | rtu <device> [baud=N] [late-first=MS] [tid=N] [garble] [once] [multi] [log-writes]\n", argv[0]);
        return 2;
    }
    int baud = 115200;
    for (int i = 3; i < argc; i++)
    {
        if (sscanf(argv[i], "baud=%d", &baud) == 1 || sscanf(argv[i], "late-first=%d", &late_first_ms) == 1
            || sscanf(argv[i], "tid=%d", &answer_tid) == 1)
            continue;
        if (strcmp(argv[i], "garble") == 0) garble = 1;
        else if (strcmp(argv[i], "once") == 0) once = 1;
        else if (strcmp(argv[i], "multi") == 0) multi = 1;
        else if (strcmp(argv[i], "log-writes") == 0) log_writes = 1;
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = hold;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = release;
    sigaction(SIGUSR2, &sa, NULL);

    modbus_mapping_t *map = modbus_mapping_new_start_address(0, 100, 0, 100, 0, 100, 0, 100);
    if (map == NULL) { fprintf(stderr, "mapping: %s\n", modbus_strerror(errno)); return 1; }
    fill(map);

    if (strcmp(argv[1], "tcp") == 0)
    {
        modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[2]));
        int listener = ctx ? modbus_tcp_listen(ctx, 1) : -1;
        if (listener == -1) { fprintf(stderr, "listen: %s\n", modbus_strerror(errno)); return 1; }
        printf("ready\n");
        fflush(stdout);
        if (multi) return serve_many(ctx, map, listener);
        for (;;)
        {
            if (modbus_tcp_accept(ctx, &listener) == -1) { fprintf(stderr, "accept: %s\n", modbus_strerror(errno)); return 1; }
            serve(ctx, map, 1);
            close(modbus_get_socket(ctx));
            if (once) return 0;
        }
    }

    modbus_t *ctx = modbus_new_rtu(argv[2], baud, 'N', 8, 1);
    if (ctx == NULL || modbus_set_slave(ctx, 1) == -1 || modbus_connect(ctx) == -1)
    {
        fprintf(stderr, "rtu %s: %s\n", argv[2], modbus_strerror(errno));
        return 1;
    }
    /* A device that was off never heard what was sent meanwhile; the pty kept it: drop it. */
    modbus_flush(ctx);
    printf("ready\n");
    fflush(stdout);
    for (;;) serve(ctx, map, 0);
}
