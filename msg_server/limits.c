/* Limits (layer 2, ms_limits.h). The message rate per connection (MsgRateLimit,
 * MsgRateBurst): a sender over it is read later, never dropped.
 *
 * Abuse limits a person never notices (docs/ARCHITECTURE.md, "Abuse limits").
 *
 * P2P commands (typing, shake: a JSON of some 60 bytes each) are capped in size
 * (MaxP2pCommand) and in rate per connection (P2pRateLimit per second, P2pRateBurst at once).
 * They are best effort for the clients too, so what is over a limit is dropped without a word
 * and counted in a rate-limited log line. The cap holds for P2P commands coming back from
 * route_server as well.
 *
 * Voice messages are capped in size in chat.c (MaxVoiceMessage: the clients record at most
 * 60 s of Speex narrowband) and in rate per user here (VoiceRateLimit per minute,
 * VoiceRateBurst at once). Over the rate the connection is read later, as with MsgRateLimit:
 * nothing is lost or refused, the sender only waits until the bucket has a token again. */
#include "ms_limits.h"
#include "ms_session.h"
#include "tt_log.h"

/* A token bucket in thousandths of a token, refilled at per_min tokens a minute. */
static void bucket_refill(ms_bucket_t *b, uint64_t now, uint32_t per_min, uint32_t burst)
{
    uint64_t full = (uint64_t)burst * 1000;
    if (b->at == 0) {
        b->milli = full;
        b->at = now;
        return;
    }
    uint64_t add = (now - b->at) * per_min / 60;
    if (add == 0)
        return;
    b->milli = b->milli + add > full ? full : b->milli + add;
    b->at = now;
}

int ms_bucket_take(ms_bucket_t *b, uint64_t now, uint32_t per_min, uint32_t burst)
{
    bucket_refill(b, now, per_min, burst);
    if (b->milli < 1000)
        return 0;
    b->milli -= 1000;
    return 1;
}

int ms_bucket_ready(ms_bucket_t *b, uint64_t now, uint32_t per_min, uint32_t burst)
{
    bucket_refill(b, now, per_min, burst);
    return b->milli >= 1000;
}

int ms_p2p_allowed(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    if (pdu->body_len > ms->max_p2p) {
        ms->p2p_dropped++;
        log_info_rl("P2P command of %u bytes from user %u (%s) dropped: over MaxP2pCommand %u "
                    "(%llu dropped so far)",
                    (unsigned)pdu->body_len, c->user_id, c->conn->peer, ms->max_p2p,
                    (unsigned long long)ms->p2p_dropped);
        return 0;
    }
    if (!ms_bucket_take(&c->p2p, tt_loop_now(ms->d.loop), ms->p2p_rate * 60, ms->p2p_burst)) {
        ms->p2p_dropped++;
        log_info_rl("P2P command from user %u (%s) dropped: over P2pRateLimit %u/s "
                    "(%llu dropped so far)",
                    c->user_id, c->conn->peer, ms->p2p_rate, (unsigned long long)ms->p2p_dropped);
        return 0;
    }
    return 1;
}

int ms_p2p_routed_allowed(msg_server_t *ms, const tt_pdu_t *pdu)
{
    if (pdu->body_len <= ms->max_p2p)
        return 1;
    ms->p2p_dropped++;
    log_info_rl("P2P command of %u bytes from route_server dropped: over MaxP2pCommand %u",
                (unsigned)pdu->body_len, ms->max_p2p);
    return 0;
}

void ms_voice_spend(client_t *c)
{
    msg_server_t *ms = c->ms;
    if (!c->user)
        return;
    uint64_t now = tt_loop_now(ms->d.loop);
    ms_bucket_take(&c->user->voice, now, ms->voice_rate, ms->voice_burst);
    if (ms_bucket_ready(&c->user->voice, now, ms->voice_rate, ms->voice_burst))
        return;
    /* The next voice message must wait: read this connection later. */
    log_info_rl("user %u (%s) is over VoiceRateLimit %u/min: read later", c->user_id,
                c->conn->peer, ms->voice_rate);
    c->voice_wait = 1;
    ms_client_throttle(c);
}

int ms_voice_ready(client_t *c, uint64_t now)
{
    msg_server_t *ms = c->ms;
    if (!c->voice_wait)
        return 1;
    if (c->user && !ms_bucket_ready(&c->user->voice, now, ms->voice_rate, ms->voice_burst))
        return 0;
    c->voice_wait = 0;
    return 1;
}

/* ---- rate limit: a token bucket per connection ---- */

static void refill(client_t *c, uint64_t now)
{
    msg_server_t *ms = c->ms;
    if (c->refilled_at == 0) {
        c->tokens = ms->msg_burst;
        c->refilled_at = now;
        return;
    }
    uint64_t add = (now - c->refilled_at) * ms->msg_rate / 1000;
    if (add == 0)
        return;
    c->tokens = (uint32_t)(c->tokens + add > ms->msg_burst ? ms->msg_burst : c->tokens + add);
    c->refilled_at = now;
}

static void unthrottle_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    msg_server_t *ms = udata;
    uint64_t now = tt_loop_now(loop);
    client_t **pp = &ms->throttled;
    while (*pp) {
        client_t *c = *pp;
        refill(c, now);
        if (c->tokens > 0 && ms_voice_ready(c, now)) {
            *pp = c->next_throttled;
            c->next_throttled = NULL;
            c->throttled = 0;
            ms_client_update_pause(c);
        } else {
            pp = &c->next_throttled;
        }
    }
    if (!ms->throttled)
        tt_timer_stop(loop, t);
}

void ms_msg_spend(client_t *c)
{
    msg_server_t *ms = c->ms;
    refill(c, tt_loop_now(ms->d.loop));
    if (c->tokens > 0)
        c->tokens--;
    if (c->tokens == 0)
        ms_client_throttle(c);
}

void ms_client_throttle(client_t *c)
{
    msg_server_t *ms = c->ms;
    if (c->throttled)
        return;
    c->throttled = 1;
    c->next_throttled = ms->throttled;
    ms->throttled = c;
    ms_client_update_pause(c);
    if (!tt_timer_active(&ms->unthrottle))
        tt_timer_start(ms->d.loop, &ms->unthrottle, 20, 20);
}

void ms_limits_init(msg_server_t *ms) { tt_timer_init(&ms->unthrottle, unthrottle_cb, ms); }

void ms_limits_stop(msg_server_t *ms)
{
    if (ms->unthrottle.cb)
        tt_timer_stop(ms->d.loop, &ms->unthrottle);
}

void ms_throttle_free(msg_server_t *ms, client_t *c)
{
    if (!c->throttled)
        return;
    for (client_t **pp = &ms->throttled; *pp; pp = &(*pp)->next_throttled) {
        if (*pp == c) {
            *pp = c->next_throttled;
            break;
        }
    }
    c->throttled = 0;
}
