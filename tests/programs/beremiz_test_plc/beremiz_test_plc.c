/* A small PLC program exporting the binary interface of a Beremiz-compiled PLC library
 * (the runtime <-> library interface described in the project's README, "Beremiz IDE builds"),
 * written from that description for plclink's tests: no Beremiz or matiec code.
 *
 * It runs its own cyclic thread at TICKTIME_NS, has variables of several IEC types behind a
 * debug interface (trace list, forces, one 4096-byte sample buffer handed out by GetDebugData),
 * a per-level log ring, one python_eval-style request served through PythonIterator, a global
 * that Python reads and writes (__SafeGetPLCGlob_PYVAR), and crash switches: the variable
 * CRASH (1 segfault, 2 abort, 3 hang in the cycle) and the files crash_start / crash_stop in
 * the working directory ("segv", "abort", "hang" or "fail").
 *
 * Build: gcc -O2 -fPIC -shared -pthread [-DTICKTIME_NS=...] beremiz_test_plc.c -o plc.so
 * (no -lm: sqrtf stays undefined, as in real builds, so the loader must have libm global).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef TICKTIME_NS
#define TICKTIME_NS 10000000ULL
#endif

typedef struct { long tv_sec; long tv_nsec; } IEC_TIME;
typedef struct { uint8_t len; char body[126]; } IEC_STRING;

char *PLC_ID = NULL;
unsigned int __tick = 0;
unsigned long long common_ticktime__ = TICKTIME_NS;
unsigned long greatest_tick_count__ = 0;
IEC_TIME __CURRENT_TIME;
uint8_t __DEBUG = 0;

/* ---- variables ------------------------------------------------------------------------- */

enum vtype { T_BOOL, T_SINT, T_BYTE, T_INT, T_UINT, T_DINT, T_UDINT, T_ULINT, T_REAL, T_LREAL,
             T_TIME, T_STRING };
static const size_t type_size[] = {1, 1, 1, 2, 2, 4, 4, 8, 4, 8, sizeof(IEC_TIME), 127};

static uint8_t RESET;          /* BOOL: holds COUNTER */
static int32_t COUNTER;        /* DINT: +1 per cycle */
static float LEVEL;            /* REAL: sqrt(COUNTER) */
static double TOTAL;           /* LREAL: +0.25 per cycle */
static int16_t SPEED;          /* INT: -(COUNTER % 1000) */
static uint8_t BYTEV;          /* BYTE: COUNTER & 0xFF */
static uint64_t BIG;           /* ULINT: 10^10 + COUNTER */
static IEC_TIME UPTIME;        /* TIME: since startPLC */
static IEC_STRING LABEL;       /* STRING: 'hello' */
static uint16_t LOG_BURST;     /* UINT: messages to log this cycle (each level in turn) */
static IEC_STRING PY_CODE;     /* STRING: the python_eval command */
static uint8_t PY_TRIG;        /* BOOL: a rising edge posts PY_CODE */
static IEC_STRING PY_RESULT;   /* STRING: the last answer */
static uint32_t PY_ANSWERS;    /* UDINT: answers received */
static int8_t CRASH;           /* SINT: 1 segfault, 2 abort, 3 hang */
static int32_t LATE_US;        /* DINT: how late this cycle started, in microseconds */
int32_t PYVAR;                 /* DINT: a Python global (__SafeGetPLCGlob_PYVAR) */

enum { V_RESET, V_COUNTER, V_LEVEL, V_TOTAL, V_SPEED, V_BYTEV, V_BIG, V_UPTIME, V_LABEL,
       V_LOG_BURST, V_PY_CODE, V_PY_TRIG, V_PY_RESULT, V_PY_ANSWERS, V_CRASH, V_LATE_US,
       V_PYVAR, NVARS };

static struct { void *addr; enum vtype type; uint8_t forced; } vars[NVARS] = {
    {&RESET, T_BOOL}, {&COUNTER, T_DINT}, {&LEVEL, T_REAL}, {&TOTAL, T_LREAL},
    {&SPEED, T_INT}, {&BYTEV, T_BYTE}, {&BIG, T_ULINT}, {&UPTIME, T_TIME}, {&LABEL, T_STRING},
    {&LOG_BURST, T_UINT}, {&PY_CODE, T_STRING}, {&PY_TRIG, T_BOOL}, {&PY_RESULT, T_STRING},
    {&PY_ANSWERS, T_UDINT}, {&CRASH, T_SINT}, {&LATE_US, T_DINT}, {&PYVAR, T_DINT},
};

/* A program write: ignored while the variable is forced. */
#define SET(index, var, value) do { if (!vars[index].forced) (var) = (value); } while (0)

static void set_string(IEC_STRING *s, const char *text) {
    size_t n = strlen(text);
    if (n > sizeof s->body) n = sizeof s->body;
    s->len = (uint8_t)n;
    memcpy(s->body, text, n);
}

static void init_vars(void) {
    RESET = 0; COUNTER = 0; LEVEL = 0; TOTAL = 0; SPEED = 0; BYTEV = 0; BIG = 0;
    memset(&UPTIME, 0, sizeof UPTIME); set_string(&LABEL, "hello"); LOG_BURST = 0;
    set_string(&PY_CODE, ""); PY_TRIG = 0; set_string(&PY_RESULT, ""); PY_ANSWERS = 0;
    CRASH = 0; LATE_US = 0; PYVAR = 5;
}

/* ---- log ring (per level; the oldest records are overwritten) --------------------------- */

#define LOG_SLOTS 128
#define LOG_BODY 240
static struct { uint32_t size, tick; struct timespec when; char body[LOG_BODY]; }
    log_ring[4][LOG_SLOTS];
static uint32_t log_count[4];
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

int LogMessage(uint8_t level, char *buf, uint32_t size) {
    static const char too_big[] = "Logging error : message too big";
    int stored = 1;
    if (level > 3) level = 3;
    if (size >= LOG_BODY) { buf = (char *)too_big; size = sizeof too_big; level = 0; stored = 0; }
    pthread_mutex_lock(&log_mutex);
    uint32_t slot = log_count[level] % LOG_SLOTS;
    log_ring[level][slot].size = size;
    log_ring[level][slot].tick = __tick;
    clock_gettime(CLOCK_REALTIME, &log_ring[level][slot].when);
    memcpy(log_ring[level][slot].body, buf, size);
    log_count[level]++;
    pthread_mutex_unlock(&log_mutex);
    return stored;
}

uint32_t GetLogCount(uint8_t level) {
    pthread_mutex_lock(&log_mutex);
    uint32_t count = log_count[level & 3];
    pthread_mutex_unlock(&log_mutex);
    return count;
}

uint32_t GetLogMessage(uint8_t level, uint32_t msgidx, char *buf, uint32_t max,
                       uint32_t *tick, uint32_t *tv_sec, uint32_t *tv_nsec) {
    uint32_t size = 0;
    level &= 3;
    pthread_mutex_lock(&log_mutex);
    if (msgidx < log_count[level] && log_count[level] - msgidx <= LOG_SLOTS) {
        uint32_t slot = msgidx % LOG_SLOTS;
        size = log_ring[level][slot].size;
        memcpy(buf, log_ring[level][slot].body, size < max ? size : max);
        *tick = log_ring[level][slot].tick;
        *tv_sec = (uint32_t)log_ring[level][slot].when.tv_sec;
        *tv_nsec = (uint32_t)log_ring[level][slot].when.tv_nsec;
    }
    pthread_mutex_unlock(&log_mutex);
    return size;
}

void ResetLogCount(void) {
    pthread_mutex_lock(&log_mutex);
    memset(log_count, 0, sizeof log_count);
    pthread_mutex_unlock(&log_mutex);
}

__attribute__((format(printf, 2, 3)))
static void logf_(uint8_t level, const char *format, ...) {
    char text[LOG_BODY];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text, sizeof text, format, args);
    va_end(args);
    LogMessage(level, text, n < (int)sizeof text ? (uint32_t)n : sizeof text - 1);
}

/* ---- debugger -------------------------------------------------------------------------- */

static pthread_mutex_t debug_mutex = PTHREAD_MUTEX_INITIALIZER;   /* suspend/resume section */
static pthread_mutex_t buffer_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t buffer_cond = PTHREAD_COND_INITIALIZER;
static int buffer_full, debug_running;
static unsigned buffer_size, buffer_tick;
static uint8_t debug_buffer[4096];
static unsigned trace_list[1024], trace_count, forced_count;

static size_t value_size(unsigned index) {
    if (vars[index].type == T_STRING) return 1 + ((IEC_STRING *)vars[index].addr)->len;
    return type_size[vars[index].type];
}

void ResetDebugVariables(void) {
    trace_count = 0;
    forced_count = 0;
    for (unsigned i = 0; i < NVARS; i++) vars[i].forced = 0;
}

int RegisterDebugVariable(unsigned int idx, void *force, size_t force_size) {
    if (idx >= NVARS) return 0;
    if (trace_count >= 1024) { ResetDebugVariables(); return 1; }
    if (force) {
        if (force_size != type_size[vars[idx].type]) { ResetDebugVariables(); return 3; }
        if (forced_count >= 256) { ResetDebugVariables(); return 2; }
        memcpy(vars[idx].addr, force, force_size);
        vars[idx].forced = 1;
        forced_count++;
    }
    trace_list[trace_count++] = idx;
    return 0;
}

int suspendDebug(int disable) {
    pthread_mutex_lock(&debug_mutex);
    __DEBUG = !disable;
    if (disable) pthread_mutex_unlock(&debug_mutex);
    return 0;
}

void resumeDebug(void) {
    __DEBUG = 1;
    pthread_mutex_unlock(&debug_mutex);
}

static void debug_publish(void) {
    if (pthread_mutex_trylock(&debug_mutex) != 0) return;
    if (__DEBUG) {
        pthread_mutex_lock(&buffer_mutex);
        if (!buffer_full) {
            size_t used = 0;
            for (unsigned i = 0; i < trace_count; i++) {
                unsigned index = trace_list[i];
                size_t size = value_size(index);
                if (used + size > sizeof debug_buffer) break;
                memcpy(debug_buffer + used, vars[index].addr, size);  /* STRING: len + body */
                used += size;
            }
            buffer_size = (unsigned)used;
            buffer_tick = __tick;
            buffer_full = 1;
            pthread_cond_signal(&buffer_cond);
        }
        pthread_mutex_unlock(&buffer_mutex);
    }
    pthread_mutex_unlock(&debug_mutex);
}

int GetDebugData(unsigned int *tick, unsigned int *size, void **buffer) {
    pthread_mutex_lock(&buffer_mutex);
    if (!debug_running) { pthread_mutex_unlock(&buffer_mutex); return 1; }
    while (!buffer_full && debug_running) pthread_cond_wait(&buffer_cond, &buffer_mutex);
    if (!buffer_full) {           /* released by stopPLC */
        *tick = __tick; *size = 0; *buffer = NULL;
    } else {
        *tick = buffer_tick; *size = buffer_size; *buffer = debug_buffer;
    }
    pthread_mutex_unlock(&buffer_mutex);
    return 0;
}

void FreeDebugData(void) {
    pthread_mutex_lock(&buffer_mutex);
    buffer_full = 0;
    pthread_mutex_unlock(&buffer_mutex);
}

/* ---- python_eval gate ------------------------------------------------------------------ */

static pthread_mutex_t py_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t py_cond = PTHREAD_COND_INITIALIZER;
static int py_state;            /* 0 free, 1 requested, 2 processing, 3 answered */
static int py_finished;
static uint8_t py_last_trig;
static char py_code[127], py_answer[127];

static void py_retrieve(void) {     /* PLC thread: never waits */
    if (pthread_mutex_trylock(&py_mutex) != 0) return;
    if (py_state == 3) {
        if (!vars[V_PY_RESULT].forced) set_string(&PY_RESULT, py_answer);
        SET(V_PY_ANSWERS, PY_ANSWERS, PY_ANSWERS + 1);
        py_state = 0;
    }
    if (PY_TRIG && !py_last_trig && py_state == 0) {
        memcpy(py_code, PY_CODE.body, PY_CODE.len);
        py_code[PY_CODE.len] = 0;
        py_state = 1;
        pthread_cond_signal(&py_cond);
    }
    py_last_trig = PY_TRIG;
    pthread_mutex_unlock(&py_mutex);
}

char *PythonIterator(char *result, void **id) {
    pthread_mutex_lock(&py_mutex);
    if (py_state == 2) {
        snprintf(py_answer, sizeof py_answer, "%s", result ? result : "");
        py_state = 3;
    }
    while (py_state != 1 && !py_finished) pthread_cond_wait(&py_cond, &py_mutex);
    if (py_finished) { pthread_mutex_unlock(&py_mutex); return NULL; }
    py_state = 2;
    *id = &py_state;
    pthread_mutex_unlock(&py_mutex);
    return py_code;
}

void __SafeGetPLCGlob_PYVAR(int32_t *value) { *value = PYVAR; }
unsigned int __PYVAR_onchange_count;
int32_t __PYVAR_onchange_firstval, __PYVAR_onchange_lastval;
void __SafeSetPLCGlob_PYVAR(int32_t *value) {
    SET(V_PYVAR, PYVAR, *value);
    if (__PYVAR_onchange_count++ == 0) __PYVAR_onchange_firstval = *value;
    __PYVAR_onchange_lastval = *value;
}

/* ---- the cycle ------------------------------------------------------------------------- */

static pthread_t plc_thread;
static pthread_mutex_t run_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t run_cond;
static int shutting_down;
static struct timespec started;
static uint32_t burst_sequence[4];

static int64_t ns_between(const struct timespec *a, const struct timespec *b) {
    return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

static void crash(int how) {
    if (how == 1) *(volatile int *)0 = 1;
    if (how == 2) abort();
    if (how == 3) for (;;) pause();
}

static void cycle(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (CRASH) crash(CRASH);
    if (!RESET) SET(V_COUNTER, COUNTER, COUNTER + 1);
    SET(V_LEVEL, LEVEL, sqrtf((float)(COUNTER > 0 ? COUNTER : 0)));
    SET(V_TOTAL, TOTAL, TOTAL + 0.25);
    SET(V_SPEED, SPEED, (int16_t)-(COUNTER % 1000));
    SET(V_BYTEV, BYTEV, (uint8_t)(COUNTER & 0xFF));
    SET(V_BIG, BIG, 10000000000ULL + (uint64_t)COUNTER);
    int64_t up = ns_between(&started, &now);
    if (!vars[V_UPTIME].forced) { UPTIME.tv_sec = up / 1000000000LL; UPTIME.tv_nsec = up % 1000000000LL; }
    for (unsigned i = 0; i < LOG_BURST; i++) {
        uint8_t level = i % 4;
        logf_(level, "burst level %u message %u", level, ++burst_sequence[level]);
    }
    SET(V_LOG_BURST, LOG_BURST, 0);
}

static void *plc_main(void *unused) {
    (void)unused;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&run_mutex);
    while (!shutting_down) {
        pthread_mutex_unlock(&run_mutex);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        SET(V_LATE_US, LATE_US, (int32_t)(ns_between(&next, &now) / 1000));
        clock_gettime(CLOCK_REALTIME, (struct timespec *)&__CURRENT_TIME);
        __tick++;
        py_retrieve();
        cycle();
        debug_publish();
        next.tv_nsec += (long)common_ticktime__;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns_between(&next, &now) > 0) {
            unsigned skipped = (unsigned)(ns_between(&next, &now) / (int64_t)common_ticktime__) + 1;
            __tick += skipped;
            for (unsigned i = 0; i < skipped; i++) {
                next.tv_nsec += (long)common_ticktime__;
                while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
            }
            logf_(1, "PLC execution time is longer than the cycle: %u cycles skipped", skipped);
        }
        pthread_mutex_lock(&run_mutex);
        while (!shutting_down && pthread_cond_timedwait(&run_cond, &run_mutex, &next) != ETIMEDOUT) {}
    }
    pthread_mutex_unlock(&run_mutex);
    return NULL;
}

/* The crash switch files: "segv", "abort", "hang" act; "fail" makes the call return 7. */
static int crash_switch(const char *file) {
    char word[16] = {0};
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    if (fscanf(f, "%15s", word) != 1) word[0] = 0;
    fclose(f);
    if (!strcmp(word, "segv")) crash(1);
    if (!strcmp(word, "abort")) crash(2);
    if (!strcmp(word, "hang")) crash(3);
    return strcmp(word, "fail") ? 0 : 7;
}

static void on_sigint(int signal_number) {
    fprintf(stderr, "Got Signal %d\n", signal_number);
    exit(0);
}

int startPLC(int argc, char **argv) {
    (void)argc; (void)argv;
    int failed = crash_switch("crash_start");
    if (failed) return failed;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&run_cond, &attributes);
    shutting_down = 0;
    init_vars();
    ResetDebugVariables();
    pthread_mutex_lock(&buffer_mutex);
    buffer_full = 0;
    debug_running = 1;
    pthread_mutex_unlock(&buffer_mutex);
    pthread_mutex_lock(&py_mutex);
    py_finished = 0;
    py_state = 0;
    pthread_mutex_unlock(&py_mutex);
    clock_gettime(CLOCK_MONOTONIC, &started);
    signal(SIGINT, on_sigint);
    logf_(2, "test PLC starting, PLC_ID %s", PLC_ID ? PLC_ID : "(unset)");
    int error = pthread_create(&plc_thread, NULL, plc_main, NULL);
    if (error) logf_(0, "cannot create the PLC thread: %s", strerror(error));
    return error;
}

int stopPLC(void) {
    crash_switch("crash_stop");
    pthread_mutex_lock(&run_mutex);
    shutting_down = 1;
    pthread_cond_signal(&run_cond);
    pthread_mutex_unlock(&run_mutex);
    pthread_join(plc_thread, NULL);
    pthread_mutex_lock(&py_mutex);
    py_finished = 1;
    pthread_cond_broadcast(&py_cond);
    pthread_mutex_unlock(&py_mutex);
    pthread_mutex_lock(&buffer_mutex);
    debug_running = 0;
    pthread_cond_broadcast(&buffer_cond);
    pthread_mutex_unlock(&buffer_mutex);
    logf_(3, "test PLC stopped at tick %u", __tick);
    return 0;
}
