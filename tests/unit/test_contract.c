/* contract (modules/contract/contract.h): the same calls give the same
 * results, gas, events and writes in fresh states; hostile contracts end in
 * a clean error with no writes and no events reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "contract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- a throwaway world: balances and committed storage in arrays ------------- */

#define ACCOUNTS 8
#define SLOTS 32

typedef struct {
    char id[32];
    int64_t balance;
} account;

typedef struct {
    char key[CONTRACT_KEY_MAX + 1];
    char *value;
} slot;

typedef struct {
    account accounts[ACCOUNTS];
    slot slots[SLOTS];
    int transfers;
} world;

static account *find_account(world *w, const char *id)
{
    for (int i = 0; i < ACCOUNTS; i++)
        if (!strcmp(w->accounts[i].id, id))
            return &w->accounts[i];
    return NULL;
}

static int w_balance(void *arg, const char *id, int64_t *balance, char *err, size_t errlen)
{
    account *a = find_account(arg, id);
    if (!a) {
        snprintf(err, errlen, "no account %s", id);
        return -1;
    }
    *balance = a->balance;
    return 0;
}

static int w_transfer(void *arg, const char *from, const char *to, int64_t amount, char *err, size_t errlen)
{
    world *w = arg;
    account *f = find_account(w, from), *t = find_account(w, to);
    if (!f || !t || strcmp(from, "contract1")) {
        snprintf(err, errlen, "%s may not be spent from", from);
        return -1;
    }
    if (f->balance < amount) {
        snprintf(err, errlen, "overdraft");
        return -1;
    }
    f->balance -= amount;
    t->balance += amount;
    w->transfers++;
    return 0;
}

static int w_storage_get(void *arg, const uint8_t *key, size_t keylen, char **value, size_t *valuelen, char *err,
                         size_t errlen)
{
    (void)err;
    (void)errlen;
    world *w = arg;
    *value = NULL;
    for (int i = 0; i < SLOTS; i++)
        if (w->slots[i].value && strlen(w->slots[i].key) == keylen && !memcmp(w->slots[i].key, key, keylen)) {
            *value = strdup(w->slots[i].value);
            *valuelen = strlen(*value);
        }
    return 0;
}

static void apply_writes(world *w, const contract_outcome *o)
{
    for (size_t i = 0; i < o->nwrites; i++) {
        int free_slot = -1, found = -1;
        for (int s = 0; s < SLOTS; s++) {
            if (w->slots[s].value && strlen(w->slots[s].key) == o->writes[i].keylen &&
                !memcmp(w->slots[s].key, o->writes[i].key, o->writes[i].keylen))
                found = s;
            if (!w->slots[s].value && free_slot < 0)
                free_slot = s;
        }
        int s = found >= 0 ? found : free_slot;
        assert_true(s >= 0);
        free(w->slots[s].value);
        w->slots[s].value = o->writes[i].value ? strdup(o->writes[i].value) : NULL;
        memcpy(w->slots[s].key, o->writes[i].key, o->writes[i].keylen);
        w->slots[s].key[o->writes[i].keylen] = '\0';
    }
}

static void world_init(world *w)
{
    memset(w, 0, sizeof *w);
    strcpy(w->accounts[0].id, "contract1");
    w->accounts[0].balance = 1000;
    strcpy(w->accounts[1].id, "alice");
    strcpy(w->accounts[2].id, "bob");
}

static void world_free(world *w)
{
    for (int i = 0; i < SLOTS; i++)
        free(w->slots[i].value);
}

static contract_host host_for(world *w, uint8_t call_seed)
{
    contract_host h;
    memset(&h, 0, sizeof h);
    h.arg = w;
    h.caller = "alice";
    h.contract = "contract1";
    h.pulse = 42;
    memset(h.seed_root, 7, sizeof h.seed_root);
    memset(h.seed_call, call_seed, sizeof h.seed_call);
    h.balance = w_balance;
    h.transfer = w_transfer;
    h.storage_get = w_storage_get;
    return h;
}

static const contract_limits small = { 8u << 20, 2000000, 60000 };

/* Calls fn with the JSON args text in a fresh world; returns the status. */
static enum contract_status call_in(world *w, const char *src, const char *fn, const char *args,
                                    const contract_limits *lim, contract_outcome *out, char *err, size_t errlen)
{
    json_t *a = args ? json_loads(args, JSON_DECODE_ANY, NULL) : NULL;
    contract_host h = host_for(w, 1);
    enum contract_status st = contract_call(src, strlen(src), fn, a, &h, lim ? lim : &small, out, err, errlen);
    json_decref(a);
    return st;
}

static char *dumps(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* --- tests ---------------------------------------------------------------------- */

static void check_at_deploy(void **state)
{
    (void)state;
    char err[256];
    const char *ok = "local M = {} function M.init() end function M.pay(x) return x end return M";
    assert_int_equal(contract_check(ok, strlen(ok), NULL, err, sizeof err), CONTRACT_OK);
    const char *bad[][2] = {
        { "return 1", "must return a table of functions" },
        { "return { pay = 1 }", "only functions under names" },
        { "return { [1] = function() end }", "only functions under names" },
        { "return (", "contract:1:" },
        { "\x1bLua", "binary chunks" },
        { "while true do end", "out of gas" },
        { "return { f = function() end, [{}] = function() end }", "only integer and string keys" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(contract_check(bad[i][0], strlen(bad[i][0]), &small, err, sizeof err), CONTRACT_OK);
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], err);
    }
}

static const char *const PAY_SRC =
    "local M = {}\n"
    "function M.pay(to, amount, note)\n"
    "  ledger.transfer(ctx.contract, to, amount)\n"
    "  local n = (storage.get('count') or 0) + 1\n"
    "  storage.set('count', n)\n"
    "  storage.set('last', { to = to, amount = amount, note = note, tags = { 'a', 'b' } })\n"
    "  emit('paid', { to = to, amount = amount, n = n })\n"
    "  return { n = n, caller = ctx.caller, pulse = ctx.pulse, bal = ledger.balance(to), last = storage.get('last') }\n"
    "end\n"
    "return M\n";

static void calls_results_and_writes(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    contract_outcome o;
    char err[256];
    assert_int_equal(call_in(&w, PAY_SRC, "pay", "[\"bob\", 10, \"hi\"]", NULL, &o, err, sizeof err), CONTRACT_OK);
    char *r = dumps(o.result);
    assert_string_equal(r, "{\"bal\":10,\"caller\":\"alice\",\"last\":{\"amount\":10,\"note\":\"hi\",\"tags\":[\"a\","
                           "\"b\"],\"to\":\"bob\"},\"n\":1,\"pulse\":42}");
    free(r);
    assert_int_equal(o.nwrites, 2);
    assert_memory_equal(o.writes[0].key, "count", 5); /* sorted byte-wise */
    assert_string_equal(o.writes[0].value, "1");
    assert_string_equal(o.writes[1].value, "{\"amount\":10,\"note\":\"hi\",\"tags\":[\"a\",\"b\"],\"to\":\"bob\"}");
    r = dumps(o.events);
    assert_string_equal(r, "[{\"fields\":{\"amount\":10,\"n\":1,\"to\":\"bob\"},\"name\":\"paid\"}]");
    free(r);
    assert_true(o.gas_used >= CONTRACT_GAS_CALL);
    apply_writes(&w, &o);
    contract_outcome_free(&o);
    /* the next call sees the committed storage */
    assert_int_equal(call_in(&w, PAY_SRC, "pay", "[\"bob\", 5, \"again\"]", NULL, &o, err, sizeof err), CONTRACT_OK);
    assert_int_equal(json_integer_value(json_object_get(o.result, "n")), 2);
    contract_outcome_free(&o);
    /* a refused transfer is an error; no writes, no events */
    assert_int_equal(call_in(&w, PAY_SRC, "pay", "[\"bob\", 100000, \"x\"]", NULL, &o, err, sizeof err),
                     CONTRACT_ERROR);
    assert_non_null(strstr(err, "ledger.transfer: overdraft"));
    assert_int_equal(o.nwrites, 0);
    assert_null(o.events);
    /* arguments: no floats, no nulls inside; a missing function */
    assert_int_equal(call_in(&w, PAY_SRC, "pay", "[\"bob\", 1.5]", NULL, &o, err, sizeof err), CONTRACT_ERROR);
    assert_non_null(strstr(err, "floats are not allowed"));
    assert_int_equal(call_in(&w, PAY_SRC, "pay", "[[null]]", NULL, &o, err, sizeof err), CONTRACT_ERROR);
    assert_int_equal(call_in(&w, PAY_SRC, "steal", "[]", NULL, &o, err, sizeof err), CONTRACT_NO_FUNCTION);
    assert_int_equal(call_in(&w, PAY_SRC, "pay; os", "[]", NULL, &o, err, sizeof err), CONTRACT_NO_FUNCTION);
    world_free(&w);
}

/* pairs in different insertion orders, sort with equal elements above
 * Lua's pivot randomisation limit, random(), string hashes: everything the
 * contract returns and its gas are the same in every fresh state. */
static const char *const ORDER_SRC =
    "local M = {}\n"
    "local function walk(t) local out = {} for k, v in pairs(t) do out[len(out) + 1] = tostring(k) .. '=' .. v end\n"
    "  local k, parts = next(t), {} while k ~= nil do parts[len(parts) + 1] = tostring(k) k = next(t, k) end\n"
    "  return table.concat(out, ','), table.concat(parts, ',') end\n"
    "function M.order(reverse)\n"
    "  local t = {}\n"
    "  local keys = { 'b', 'a', 3, 'ab', 1, 'c', 2, -5, 'aa', '' }\n"
    "  for i = 1, 200 do keys[len(keys) + 1] = 'k' .. i end\n"
    "  if reverse then for i = len(keys), 1, -1 do t[keys[i]] = 1 end else for i = 1, len(keys) do t[keys[i]] = 1 end end\n"
    "  local a, b = walk(t)\n"
    "  local rows, comparisons = {}, 0\n"
    "  for i = 1, 300 do rows[i] = { g = i % 7, id = i } end\n"
    "  table.sort(rows, function(x, y) comparisons = comparisons + 1 return x.g < y.g end)\n"
    "  local ids = {} for i = 1, 10 do ids[i] = rows[i].id end\n"
    "  return { walk = a, next = b, comparisons = comparisons, ids = ids, r = { random(), random(6), random(-3, 3) } }\n"
    "end\n"
    "return M\n";

static void deterministic_across_states(void **state)
{
    (void)state;
    char *first = NULL;
    uint64_t first_gas = 0;
    for (int run = 0; run < 4; run++) {
        world w;
        world_init(&w);
        contract_outcome o;
        char err[256];
        assert_int_equal(call_in(&w, ORDER_SRC, "order", run % 2 ? "[true]" : "[false]", NULL, &o, err, sizeof err),
                         CONTRACT_OK);
        json_t *walk = json_object_get(o.result, "walk");
        assert_non_null(strstr(json_string_value(walk), "-5=1,1=1,2=1,3=1,=1,a=1,aa=1,ab=1,b=1,c=1,k1=1,k10=1"));
        char *r = dumps(o.result);
        if (!first) {
            first = r;
            first_gas = o.gas_used;
        } else {
            assert_string_equal(r, first);
            assert_int_equal(o.gas_used, first_gas);
            free(r);
        }
        contract_outcome_free(&o);
        world_free(&w);
    }
    /* the sort is stable: the first rows of group 0 in id order */
    assert_non_null(strstr(first, "\"ids\":[7,14,21,28,35,42,49,56,63,70]"));
    free(first);
    /* random(): another call hash gives another stream */
    world w;
    world_init(&w);
    contract_host h1 = host_for(&w, 1), h2 = host_for(&w, 2);
    const char *src = "return { r = function() return { random(), random(), random(1, 1000000) } end }";
    contract_outcome a, b, c;
    char err[256];
    assert_int_equal(contract_call(src, strlen(src), "r", NULL, &h1, &small, &a, err, sizeof err), CONTRACT_OK);
    assert_int_equal(contract_call(src, strlen(src), "r", NULL, &h1, &small, &b, err, sizeof err), CONTRACT_OK);
    assert_int_equal(contract_call(src, strlen(src), "r", NULL, &h2, &small, &c, err, sizeof err), CONTRACT_OK);
    assert_true(json_equal(a.result, b.result));
    assert_false(json_equal(a.result, c.result));
    contract_outcome_free(&a);
    contract_outcome_free(&b);
    contract_outcome_free(&c);
    world_free(&w);
}

/* Each body runs after a write and an event: a failure must report neither. */
static void hostile(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        enum contract_status status;
        const char *msg;
    } cases[] = {
        { "pcall(function() while true do end end)", CONTRACT_OUT_OF_GAS, "out of gas" },
        { "local co = pcall(function() local ok = pcall(error) while true do pcall(function() end) end end)",
          CONTRACT_OUT_OF_GAS, "out of gas" },
        { "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end", CONTRACT_MEMORY, "memory limit" },
        { "pcall(string.rep, 'x', 2^40)", CONTRACT_OUT_OF_GAS, "out of gas" },
        { "local s = ('x'):rep(2^20) pcall(function() while true do s = s .. s end end)", CONTRACT_MEMORY,
          "memory limit" },
        { "local function f(n) return f(n + 1) + 1 end f(1)", CONTRACT_MEMORY, "memory limit" },
        { "local function f(n) return f(n + 1) + 1 end pcall(f, 1)", CONTRACT_MEMORY, "memory limit" },
        { "for k in pairs({ [{}] = 1 }) do end", CONTRACT_ERROR, "only integer and string keys" },
        { "for k in pairs({ [true] = 1, [1.5] = 2 }) do end", CONTRACT_ERROR, "only integer and string keys" },
        { "next({ [tostring] = 1 })", CONTRACT_ERROR, "only integer and string keys" },
        { "storage.set('f', 1.5)", CONTRACT_ERROR, "a float cannot be stored" },
        { "storage.set('f', { a = { 1, 2, 0.5 } })", CONTRACT_ERROR, "a float cannot be stored" },
        { "emit('e', { x = 1 / 3 })", CONTRACT_ERROR, "a float cannot be emitted" },
        { "do return 2 ^ 1 end", CONTRACT_ERROR, "a float cannot be returned" },
        { "do return print end", CONTRACT_ERROR, "print is not available in contracts" },
        { "do return function() end end", CONTRACT_ERROR, "a function cannot be returned" },
        { "do return { 1, 2, x = 3 } end", CONTRACT_ERROR, "keys other than 1..n" },
        { "local t = {} t.t = t do return t end", CONTRACT_ERROR, "nested deeper than" },
        { "do return '\\xff' end", CONTRACT_ERROR, "not UTF-8" },
        { "os.execute('true')", CONTRACT_ERROR, "os is not available in contracts" },
        { "io.open('/etc/passwd')", CONTRACT_ERROR, "io is not available in contracts" },
        { "debug.getinfo(1)", CONTRACT_ERROR, "debug is not available in contracts" },
        { "load('return 1')", CONTRACT_ERROR, "load is not available in contracts" },
        { "require('x')", CONTRACT_ERROR, "require is not available in contracts" },
        { "collectgarbage('count')", CONTRACT_ERROR, "collectgarbage is not available in contracts" },
        { "coroutine.create(print)", CONTRACT_ERROR, "coroutine is not available in contracts" },
        { "math.random(1, 2)", CONTRACT_ERROR, "field 'random'" },
        { "math.sin(1)", CONTRACT_ERROR, "field 'sin'" },
        { "string.dump(tostring)", CONTRACT_ERROR, "field 'dump'" },
        { "string.format('%p', {})", CONTRACT_ERROR, "'%p' is not available" },
        { "setmetatable({}, { __gc = function() end })", CONTRACT_ERROR, "__gc" },
        { "setmetatable({}, { __mode = 'k' })", CONTRACT_ERROR, "__mode" },
        { "getmetatable('').__index.dump = 1", CONTRACT_ERROR, "attempt to index a boolean" },
        { "assert(not tostring({}):find('0x') and not tostring(tostring):find('0x')"
          " and not string.format('%s %s', {}, tostring):find('0x')) error('no address')",
          CONTRACT_ERROR, "no address" },
        { "ledger.transfer('alice', 'bob', 1)", CONTRACT_ERROR, "alice may not be spent from" },
        { "ledger.transfer(ctx.contract, 'bob', 1.5)", CONTRACT_ERROR, "must be an integer" },
        { "ledger.mint('bob', 1)", CONTRACT_ERROR, "ledger.mint is not available here" },
        { "storage.set(('k'):rep(300), 1)", CONTRACT_ERROR, "a key has 1 to" },
        { "local _ = ('%p'):format({})", CONTRACT_ERROR, "'%p' is not available" },
        { "pcall(function() for i = 1, 1000 do storage.set('k' .. i, ('x'):rep(4000)) end end)",
          CONTRACT_OUT_OF_GAS, "out of gas" },
        { "local t = {} for i = 1, 300 do t[i] = i end pcall(table.sort, t, function(a, b) while true do end end)",
          CONTRACT_OUT_OF_GAS, "out of gas" },
        { "local t = setmetatable({}, { __index = function(t, k) while true do end end }) pcall(next, t)"
          " for k in pairs(t) do end local x = t.x",
          CONTRACT_OUT_OF_GAS, "out of gas" },
        { "local t = {} for i = 1, 40000 do t[i] = i end storage.set('big', t)", CONTRACT_ERROR,
          "more than 4096 bytes of JSON cannot be stored" },
        { "local t = {} for i = 1, 10 do t[i] = ('x'):rep(10000) end do return t end", CONTRACT_ERROR,
          "more than 65536 bytes of JSON cannot be returned" },
        { "emit('e', { ('x'):rep(20000) })", CONTRACT_ERROR, "more than 16384 bytes of JSON cannot be emitted" },
        { "math.add(math.maxinteger, 1)", CONTRACT_ERROR, "integer overflow" },
        { "math.mul(math.mininteger, -1)", CONTRACT_ERROR, "integer overflow" },
        { "math.muldiv(math.maxinteger, 3, 2)", CONTRACT_ERROR, "integer overflow" },
        { "math.add(1, 0.5)", CONTRACT_ERROR, "integer expected" },
        { "assert(math.muldiv(math.maxinteger, 2500, 10000) == math.maxinteger // 4 and math.muldiv(-7, 1, 2) == -4"
          " and math.sub(0, 5) == -5) error('checked')", CONTRACT_ERROR, "checked" },
        { "local t = { 1, 2, 3 } table.insert(t, 4) table.insert(t, 1, 0) assert(table.concat(t, ',') == '0,1,2,3,4')"
          " assert(table.remove(t) == 4 and table.remove(t, 1) == 0 and len(t) == 3 and rawlen(t) == 3)"
          " assert(select('#', table.unpack(t)) == 3 and table.concat(t, '-', 2) == '2-3')"
          " local h = { 1, 2, nil, 4 } assert(len(h) == 4 and rawlen(h) == 4 and len('abc') == 3)"
          " assert(len(setmetatable({}, { __len = function() return 7 end })) == 7) error('lengths ok')",
          CONTRACT_ERROR, "lengths ok" },
        { "table.insert({}, 5, 1)", CONTRACT_ERROR, "position out of bounds" },
        { "local t = {} local n = #t", CONTRACT_ERROR, "contract:1: the length operator '#' is not available" },
        { "local s = '#' .. \"#\" .. [[#]] .. [==[#]]#]==] -- #\n --[[ # ]] local n = #s", CONTRACT_ERROR,
          "contract:2: the length operator '#'" },
        { "local s = '\\'#' error(s .. select('#', 1) .. [=[\n#]=])", CONTRACT_ERROR, "'#1" },
        { "error(setmetatable({}, { __tostring = function() return 'obj' end }))", CONTRACT_ERROR,
          "error object is not a string" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[1024];
        snprintf(src, sizeof src,
                 "return { f = function() storage.set('w', 1) emit('e', { a = 1 }) pcall(emit, 'x', 0.5) %s "
                 "return 1 end }",
                 cases[i].body);
        world w;
        world_init(&w);
        contract_outcome o;
        char err[256];
        enum contract_status st = call_in(&w, src, "f", NULL, NULL, &o, err, sizeof err);
        if (st != cases[i].status || !strstr(err, cases[i].msg))
            fail_msg("case %zu (%s): status %s, err %s", i, cases[i].body, contract_strerror(st), err);
        assert_int_equal(o.nwrites, 0);
        assert_null(o.events);
        assert_null(o.result);
        if (!strstr(err, "length operator")) /* refused before any state runs */
            assert_true(o.gas_used > 0);
        if (st == CONTRACT_OUT_OF_GAS || st == CONTRACT_MEMORY)
            assert_int_equal(o.gas_used, small.gas);
        world_free(&w);
    }
    /* a state too small to set up: a clean memory error, no crash */
    {
        world w0;
        world_init(&w0);
        contract_outcome o0;
        char e0[256];
        for (size_t mem = 4096; mem < 200000; mem += 4096) {
            contract_limits tiny = { mem, 100000, 60000 };
            enum contract_status st = call_in(&w0, PAY_SRC, "pay", "[\"bob\", 1, \"x\"]", &tiny, &o0, e0, sizeof e0);
            assert_true(st == CONTRACT_OK || st == CONTRACT_MEMORY);
            contract_outcome_free(&o0);
        }
        world_free(&w0);
    }
    /* what a pcall caught leaves nothing behind: the half event is gone */
    world w;
    world_init(&w);
    contract_outcome o;
    char err[256];
    const char *src = "return { f = function() pcall(emit, 'x', { 1, 0.5 }) pcall(storage.set, 'k', { 0.5 }) "
                      "emit('ok') return 1 end }";
    assert_int_equal(call_in(&w, src, "f", NULL, NULL, &o, err, sizeof err), CONTRACT_OK);
    char *r = dumps(o.events);
    assert_string_equal(r, "[{\"fields\":{},\"name\":\"ok\"}]");
    free(r);
    assert_int_equal(o.nwrites, 0);
    contract_outcome_free(&o);
    world_free(&w);
}

/* --print: the outcomes of a fixed set of calls, for the comparison of two
 * processes with different address-space layouts (tests/CMakeLists.txt) */
static int print_outcomes(void)
{
    static const struct {
        const char *src, *fn, *args;
    } calls[] = {
        { NULL, "order", "[false]" },
        { NULL, "order", "[true]" },
        { NULL, "pay", "[\"bob\", 10, \"hi\"]" },
        /* tables with deletions (their rehash timing follows the string
         * hashes, see contract.h on '#'), sequences and the memory limit */
        { "return { f = function() local t, lens = {}, {} for r = 1, 50 do for i = 1, 40 do t['k' .. r .. '_' .. i] = i end "
          "for i = 1, 40, 3 do t['k' .. r .. '_' .. i] = nil end t[r] = r lens[len(lens) + 1] = len(t) end "
          "local n = 0 for k in pairs(t) do n = n + 1 end return { n = n, lens = table.concat(lens, ',') } end }",
          "f", NULL },
        /* the same with holes, measured by len(): the content decides */
        { "return { f = function() local t, lens = {}, {} for r = 1, 50 do for i = 1, 40 do t['k' .. r .. '_' .. i] = i end "
          "for i = 1, 40, 3 do t['k' .. r .. '_' .. i] = nil end if r % 4 ~= 0 then t[r] = r end lens[len(lens) + 1] = len(t) end "
          "table.insert(t, 'x') return { lens = table.concat(lens, ','), last = table.remove(t), n = len(t) } end }",
          "f", NULL },
        { "return { f = function() local t = {} for i = 1, 1e9 do t['k' .. i] = { i } if i % 3 == 0 then "
          "t['k' .. (i - 1)] = nil end end end }",
          "f", NULL },
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const char *src = calls[i].src ? calls[i].src : !strcmp(calls[i].fn, "pay") ? PAY_SRC : ORDER_SRC;
        world w;
        world_init(&w);
        contract_outcome o;
        char err[256];
        contract_limits lim = { 4u << 20, 50000000, 60000 };
        enum contract_status st = call_in(&w, src, calls[i].fn, calls[i].args, &lim, &o, err, sizeof err);
        char *r = o.result ? dumps(o.result) : NULL, *e = o.events ? dumps(o.events) : NULL;
        printf("%zu %s %s gas=%llu result=%s events=%s", i, contract_strerror(st), err,
               (unsigned long long)o.gas_used, r ? r : "-", e ? e : "-");
        for (size_t k = 0; k < o.nwrites; k++)
            printf(" %.*s=%s", (int)o.writes[k].keylen, (const char *)o.writes[k].key,
                   o.writes[k].value ? o.writes[k].value : "(deleted)");
        printf("\n");
        free(r);
        free(e);
        contract_outcome_free(&o);
        world_free(&w);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--print"))
        return print_outcomes();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_at_deploy),
        cmocka_unit_test(calls_results_and_writes),
        cmocka_unit_test(deterministic_across_states),
        cmocka_unit_test(hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
