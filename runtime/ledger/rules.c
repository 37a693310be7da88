/* rules.c: a transaction's shape and the rules that apply it to accounts
 * (ledger.h's TRANSACTIONS). Pure: submit checks a transaction against
 * what the queue will make of the accounts, the pulse thread against the
 * tree, verify against its replay, all with these functions. */
#include "ledger_impl.h"

#include "errbuf.h"

#include <stdlib.h>
#include <string.h>

/* --- the account map ------------------------------------------------------- */

void account_map_init(account_map *m, int (*source)(void *, const uint8_t *, ledger_account *, char *, size_t),
                      void *arg)
{
    memset(m, 0, sizeof *m);
    m->source = source;
    m->source_arg = arg;
}

void account_map_free(account_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

void account_map_clear(account_map *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->count = 0;
}

/* keys are BLAKE2b-derived IDs: their first bytes are as good as a hash */
static size_t slot_of(const uint8_t key[SMT_KEY_BYTES], size_t cap)
{
    uint64_t h = 0;
    memcpy(&h, key, sizeof h);
    return (size_t)(h ^ h >> 29) & (cap - 1);
}

account_slot *account_map_find(account_map *m, const uint8_t key[SMT_KEY_BYTES])
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].used)
            return NULL;
        if (!memcmp(m->slots[i].key, key, SMT_KEY_BYTES))
            return &m->slots[i];
    }
}

static int grow(account_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    account_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        size_t j = slot_of(m->slots[i].key, cap);
        while (slots[j].used)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

account_slot *account_map_get(account_map *m, const uint8_t key[SMT_KEY_BYTES], char *err, size_t errlen)
{
    account_slot *s = account_map_find(m, key);
    if (s)
        return s;
    if ((m->count + 1) * 2 > m->cap && grow(m) != 0)
        return ERR("out of memory"), NULL;
    ledger_account a = {0};
    int found = m->source ? m->source(m->source_arg, key, &a, err, errlen) : 0;
    if (found < 0)
        return NULL;
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].used)
        i = (i + 1) & (m->cap - 1);
    s = &m->slots[i];
    memset(s, 0, sizeof *s);
    memcpy(s->key, key, SMT_KEY_BYTES);
    s->used = 1;
    s->present = s->was_present = (uint8_t)(found == 1);
    s->was_role = found == 1 ? a.role : 0;
    s->a = a;
    m->count++;
    return s;
}

/* --- shapes ------------------------------------------------------------------ */

static const char *const type_names[] = {NULL, "create", "apply", "role", "issue", "offer", "accept"};

const char *tx_type_name(int type) { return type >= TX_CREATE && type <= TX_ACCEPT ? type_names[type] : "?"; }

const char *tx_str(const json_t *tx, const char *field)
{
    const char *s = json_string_value(json_object_get(tx, field));
    return s ? s : "";
}

/* the fields each type has beyond Org, Type, Signer, PublicKey, Expires, Sig;
 * a leading '?' marks an optional one */
static const char *const type_fields[][6] = {
    [TX_CREATE] = {"Name", "MID", "Supervisor", "?Salt", NULL},
    [TX_APPLY] = {"Salt", "Note", NULL},
    [TX_ROLE] = {"Salt", "User", "Role", NULL},
    [TX_ISSUE] = {"Salt", "To", "Amount", "Reason", NULL},
    [TX_OFFER] = {"From", "To", "Amount", "Nonce", "Memo", "?Salt"},
    [TX_ACCEPT] = {"Offer", "?Salt", NULL},
};

static int known_field(int type, const char *name)
{
    static const char *const common[] = {"Org", "Type", "Signer", "PublicKey", "Expires", "Sig"};
    for (size_t i = 0; i < 6; i++)
        if (!strcmp(name, common[i]))
            return 1;
    for (size_t i = 0; i < 6 && type_fields[type][i]; i++) {
        const char *f = type_fields[type][i];
        if (!strcmp(name, f[0] == '?' ? f + 1 : f))
            return 1;
    }
    return 0;
}

static int text_field(const json_t *tx, const char *field, size_t min, size_t max, char *err, size_t errlen)
{
    json_t *v = json_object_get(tx, field);
    if (!json_is_string(v))
        return ERR("%s must be a string", field);
    size_t len = json_string_length(v);
    if (len < min || len > max)
        return min ? ERR("%s must be %zu to %zu bytes", field, min, max) : ERR("%s is over %zu bytes", field, max);
    if (strlen(json_string_value(v)) != len)
        return ERR("%s holds a NUL", field);
    return 0;
}

static int id_field(const json_t *tx, const char *field, char *err, size_t errlen)
{
    json_t *v = json_object_get(tx, field);
    /* the whole string: an ID followed by a NUL and more is not one */
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
        !ids_is_leither_id(json_string_value(v)))
        return ERR("%s must be a Leither ID", field);
    return 0;
}

static int amount_field(const json_t *tx, const char *field, int positive, char *err, size_t errlen)
{
    uint64_t v;
    json_t *j = json_object_get(tx, field);
    if (!json_is_string(j))
        return ERR("%s must be a decimal string (u64)", field);
    if (ledger_amount_parse(json_string_value(j), &v) != 0)
        return ERR("%s \"%.40s\" is not a u64 in decimal (no sign, no leading zeros, at most 18446744073709551615)",
                   field, json_string_value(j));
    if (json_string_length(j) != strlen(json_string_value(j)))
        return ERR("%s holds a NUL", field);
    if (positive && v == 0)
        return ERR("%s must be more than 0", field);
    return 0;
}

int tx_check_shape(const json_t *tx, const char *org, char *err, size_t errlen)
{
    if (!json_is_object(tx))
        return ERR("a transaction is a JSON object"), 0;
    const char *type_text = tx_str(tx, "Type");
    int type = 0;
    for (int t = TX_CREATE; t <= TX_ACCEPT; t++)
        if (!strcmp(type_text, type_names[t]))
            type = t;
    if (!type)
        return ERR("Type must be create, apply, role, issue, offer or accept"), 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)tx, key, value) if (!known_field(type, key))
        return ERR("unknown field \"%.40s\" in a%s %s transaction", key, type == TX_ISSUE || type == TX_OFFER ||
                   type == TX_APPLY || type == TX_ACCEPT ? "n" : "", type_names[type]), 0;
    for (size_t i = 0; i < 6 && type_fields[type][i]; i++)
        if (type_fields[type][i][0] != '?' && !json_object_get(tx, type_fields[type][i]))
            return ERR("a%s %s transaction needs \"%s\"", type == TX_ISSUE || type == TX_OFFER ||
                       type == TX_APPLY || type == TX_ACCEPT ? "n" : "", type_names[type], type_fields[type][i]), 0;
    if (id_field(tx, "Org", err, errlen))
        return 0;
    if (org && strcmp(tx_str(tx, "Org"), org))
        return ERR("the transaction is for org %s, not %s", tx_str(tx, "Org"), org), 0;
    /* whole strings: a NUL would hide bytes the signature covers from the checks */
    if (id_field(tx, "Signer", err, errlen) || text_field(tx, "Type", 1, 16, err, errlen) ||
        text_field(tx, "PublicKey", 1, 128, err, errlen) || text_field(tx, "Sig", 1, 128, err, errlen))
        return 0;
    json_t *expires = json_object_get(tx, "Expires");
    if (!json_is_integer(expires) || json_integer_value(expires) < 1)
        return ERR("Expires must be a pulse number (an integer from 1)"), 0;
    if (json_object_get(tx, "Salt") && text_field(tx, "Salt", 1, 64, err, errlen))
        return 0;
    switch (type) {
    case TX_CREATE:
        if (text_field(tx, "Name", 1, 128, err, errlen) || id_field(tx, "MID", err, errlen) ||
            id_field(tx, "Supervisor", err, errlen))
            return 0;
        break;
    case TX_APPLY:
        if (text_field(tx, "Note", 0, LEDGER_TEXT_MAX, err, errlen))
            return 0;
        break;
    case TX_ROLE:
        if (id_field(tx, "User", err, errlen))
            return 0;
        if (strcmp(tx_str(tx, "Role"), "guest") && strcmp(tx_str(tx, "Role"), "member"))
            return ERR("Role must be \"guest\" or \"member\""), 0;
        break;
    case TX_ISSUE:
        if (id_field(tx, "To", err, errlen) || amount_field(tx, "Amount", 1, err, errlen) ||
            text_field(tx, "Reason", 1, LEDGER_TEXT_MAX, err, errlen))
            return 0;
        break;
    case TX_OFFER:
        if (id_field(tx, "From", err, errlen) || id_field(tx, "To", err, errlen) ||
            amount_field(tx, "Amount", 1, err, errlen) || amount_field(tx, "Nonce", 0, err, errlen) ||
            text_field(tx, "Memo", 0, LEDGER_TEXT_MAX, err, errlen))
            return 0;
        if (strcmp(tx_str(tx, "From"), tx_str(tx, "Signer")))
            return ERR("an offer's From must be its Signer"), 0;
        if (!strcmp(tx_str(tx, "From"), tx_str(tx, "To")))
            return ERR("a transfer to oneself is refused"), 0;
        break;
    case TX_ACCEPT: {
        json_t *offer = json_object_get(tx, "Offer");
        char why[256];
        if (!json_is_object(offer))
            return ERR("Offer must be the signed offer (an object)"), 0;
        if (tx_check_shape(offer, tx_str(tx, "Org"), why, sizeof why) != TX_OFFER)
            return ERR("Offer: %s", json_is_object(offer) && strcmp(tx_str(offer, "Type"), "offer") ?
                       "not an offer" : why), 0;
        break;
    }
    }
    char why[256];
    if (ledger_verify_sig(tx, why, sizeof why) != IDS_OK)
        return ERR("%s", why), 0;
    if (type == TX_CREATE && strcmp(tx_str(tx, "Signer"), tx_str(tx, "Org")))
        return ERR("a create transaction is signed by the org key"), 0;
    return type;
}

/* --- the rules ---------------------------------------------------------------- */

static uint64_t amount_of(const json_t *tx, const char *field)
{
    uint64_t v = 0;
    ledger_amount_parse(tx_str(tx, field), &v);
    return v;
}

static account_slot *slot_of_id(account_map *m, const char *id, char *err, size_t errlen)
{
    uint8_t key[SMT_KEY_BYTES];
    if (ledger_key_of(key, id) != 0)
        return ERR("%.60s is not a Leither ID", id), NULL;
    return account_map_get(m, key, err, errlen);
}

#define REFUSE(...) (errbuf_set(err, errlen, __VA_ARGS__), 1)

int tx_apply(account_map *m, const json_t *tx, int type, uint64_t pulse, uint64_t seq, char *err, size_t errlen)
{
    json_int_t expires = json_integer_value(json_object_get(tx, "Expires"));
    if ((uint64_t)expires < pulse)
        return REFUSE("expired: it was good until pulse %lld and the next pulse is %llu", (long long)expires,
                      (unsigned long long)pulse);
    const char *signer = tx_str(tx, "Signer");
    account_slot *by = NULL, *to = NULL, *from = NULL;
    if (type != TX_CREATE && type != TX_ACCEPT && !(by = slot_of_id(m, signer, err, errlen)))
        return -1;
    switch (type) {
    case TX_CREATE:
        if (!(to = slot_of_id(m, tx_str(tx, "Supervisor"), err, errlen)))
            return -1;
        if (to->present)
            return REFUSE("the org has been created already");
        to->present = 1;
        to->a = (ledger_account){.role = LEDGER_SUPERVISOR};
        to->seq = seq;
        return 0;
    case TX_APPLY:
        if (by->present)
            return REFUSE("%s has an account already (%s)", signer, ledger_role_name(by->a.role));
        by->present = 1;
        by->a = (ledger_account){.role = LEDGER_GUEST};
        by->seq = seq;
        return 0;
    case TX_ROLE: {
        if (!by->present || by->a.role != LEDGER_SUPERVISOR)
            return REFUSE("only the supervisor may change roles: %s is not", signer);
        if (!(to = slot_of_id(m, tx_str(tx, "User"), err, errlen)))
            return -1;
        int role = ledger_role_parse(tx_str(tx, "Role"));
        if (!to->present)
            return REFUSE("%s has no account: it applies first", tx_str(tx, "User"));
        if (to->a.role == LEDGER_SUPERVISOR)
            return REFUSE("the supervisor's role does not change");
        if (to->a.role == role)
            return REFUSE("%s is a %s already", tx_str(tx, "User"), ledger_role_name(role));
        to->a.role = (uint8_t)role;
        to->seq = seq;
        return 0;
    }
    case TX_ISSUE: {
        if (!by->present || by->a.role != LEDGER_SUPERVISOR)
            return REFUSE("only the supervisor may issue tokens: %s is not", signer);
        if (!(to = slot_of_id(m, tx_str(tx, "To"), err, errlen)))
            return -1;
        uint64_t amount = amount_of(tx, "Amount");
        if (!to->present)
            return REFUSE("%s has no account", tx_str(tx, "To"));
        if (to->a.balance > UINT64_MAX - amount)
            return REFUSE("%s's balance would overflow u64", tx_str(tx, "To"));
        to->a.balance += amount;
        to->seq = seq;
        return 0;
    }
    case TX_OFFER:
    case TX_ACCEPT: {
        const json_t *offer = type == TX_OFFER ? tx : json_object_get(tx, "Offer");
        uint64_t amount = amount_of(offer, "Amount"), nonce = amount_of(offer, "Nonce");
        json_int_t offer_expires = json_integer_value(json_object_get(offer, "Expires"));
        if (type == TX_ACCEPT && strcmp(signer, tx_str(offer, "To")))
            return REFUSE("only the payee %s may accept this offer, not %s", tx_str(offer, "To"), signer);
        if (type == TX_ACCEPT && (uint64_t)offer_expires < pulse)
            return REFUSE("the offer expired: it was good until pulse %lld and the next pulse is %llu",
                          (long long)offer_expires, (unsigned long long)pulse);
        if (!strcmp(tx_str(offer, "From"), tx_str(offer, "To")))
            return REFUSE("a transfer to oneself is refused");
        if (!(from = slot_of_id(m, tx_str(offer, "From"), err, errlen)) ||
            !(to = slot_of_id(m, tx_str(offer, "To"), err, errlen)))
            return -1;
        if (!from->present)
            return REFUSE("the payer %s has no account", tx_str(offer, "From"));
        if (!to->present)
            return REFUSE("the payee %s has no account", tx_str(offer, "To"));
        if (nonce < from->a.nonce)
            return REFUSE("nonce %llu was spent: the offer was accepted already or replays one (the payer's nonce is "
                          "%llu)", (unsigned long long)nonce, (unsigned long long)from->a.nonce);
        if (type == TX_ACCEPT && nonce > from->a.nonce)
            return REFUSE("the offer's nonce %llu is ahead of the payer's %llu: its earlier offers come first",
                          (unsigned long long)nonce, (unsigned long long)from->a.nonce);
        if (from->a.balance < amount)
            return REFUSE("overdraft: %s has %llu and the offer pays %llu", tx_str(offer, "From"),
                          (unsigned long long)from->a.balance, (unsigned long long)amount);
        if (to->a.balance > UINT64_MAX - amount)
            return REFUSE("%s's balance would overflow u64", tx_str(offer, "To"));
        if (type == TX_OFFER)
            return 0;
        from->a.balance -= amount;
        from->a.nonce++;
        to->a.balance += amount;
        from->seq = to->seq = seq;
        return 0;
    }
    }
    return REFUSE("unknown transaction type");
}

size_t tx_parties(const json_t *tx, int type, uint8_t keys[2][SMT_KEY_BYTES])
{
    const json_t *offer = type == TX_ACCEPT ? json_object_get(tx, "Offer") : tx;
    const char *ids[2] = {NULL, NULL};
    switch (type) {
    case TX_CREATE: ids[0] = tx_str(tx, "Supervisor"); break;
    case TX_APPLY: ids[0] = tx_str(tx, "Signer"); break;
    case TX_ROLE: ids[0] = tx_str(tx, "User"); break;
    case TX_ISSUE: ids[0] = tx_str(tx, "To"); break;
    case TX_OFFER:
    case TX_ACCEPT:
        ids[0] = tx_str(offer, "From");
        ids[1] = tx_str(offer, "To");
        break;
    }
    size_t n = 0;
    for (size_t i = 0; i < 2; i++)
        if (ids[i] && ledger_key_of(keys[n], ids[i]) == 0)
            n++;
    return n;
}
