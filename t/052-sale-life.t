# A sale's whole life through nginx and the real pool: a won deal whose
# price is corrected (both tables, an edit of each sent message), that is
# lost (out of all_sales_tracking, a reply in each chat), won again
# (restored), deleted and restored again; events out of order (stale) and
# repeated change nothing; the unified endpoint follows the same rules; a
# reversal while the message is still pending sends nothing; edits under
# 429 and edits Telegram refuses; TELEGRAM_CORRECTIONS=0; and traffic-ctl
# sale and reassign.
use strict;
use warnings;
use utf8;
use Encode qw(decode);
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output);

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my @chats = ('-1005200000001', '-1005200000002');
my %env = (TELEGRAM_BOT_TOKEN => '5200:LIFE-token', TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_IDS => join(',', @chats), TELEGRAM_CHAT_INTERVAL_MS => 0,
    TELEGRAM_GROUP_PER_MINUTE => 0, TELEGRAM_RETRY_BASE_MS => 1000);
my $envfile = write_env(%env);
start_pool(workers => 2, env_file => $envfile);
start_nginx();
# as in production: what a worker leaves (a chat another held) the sidecar
# sends
start_deliver(env_file => $envfile);

my $T = 1780000000;
my $TRAFFIC = '/webhook/amocrm/traffic';
sub send_event {
    my ($path, %f) = @_;
    my $r = post_form($path, lead_form(pipeline_id => 10418746, %f));
    is($r->{status}, 200, "$f{event} of lead $f{id}: 200")
        or diag($r->{content});
    return decode_json($r->{content});
}
sub q1 { decode('UTF-8', psql($_[0])) }
sub sale { q1("SELECT $_[1] FROM sales_notifications WHERE lead_id = $_[0]") }
sub tracked {
    q1("SELECT coalesce(string_agg(trim_scale(sale_amount)::text, ','), 'none')"
        . " FROM all_sales_tracking WHERE lead_id = $_[0]");
}
sub events {
    q1("SELECT coalesce(string_agg(kind || '/' || source, ' ' ORDER BY id), '')"
        . " FROM sale_events WHERE lead_id = $_[0]");
}
sub outbox_done {
    my ($id) = @_;
    wait_for("lead ${id}'s messages recorded", sub {
        psql("SELECT count(*) FROM notification_outbox WHERE lead_id = $id"
            . " AND (status = 'pending' OR lease_until IS NOT NULL)") == 0 });
}
sub message_ids {
    my ($id) = @_;
    return { map { split /\|/ } split /\n/, psql("SELECT chat_id,"
        . " telegram_message_id FROM notification_outbox WHERE lead_id = $id"
        . " AND kind = 'sale'") };
}

# Won: the sale, its 'won' event, a message in each chat.
my $A = 52000001;
send_event($TRAFFIC, event => 'status', id => $A, name => 'Курс <A>',
    status_id => 142, price => 100000, updated_at => $T,
    utm_campaign => 'tripwire_dec20');
outbox_done($A);
is(sale($A, 'sale_state'), 'won', 'won: the sale is won');
is(tracked($A), '100000', 'won: the dashboard has it');
is(events($A), 'won/webhook', 'won: one event');
my $mid = message_ids($A);
is(scalar keys %$mid, 2, 'won: a message in each chat');

# The same event again, and an update without news: nothing changes.
my $j = send_event($TRAFFIC, event => 'update', id => $A, status_id => 142,
    price => 100000, updated_at => $T);
is($j->{results}{duplicates}, 1, 'a repeat: a duplicate');
is(events($A), 'won/webhook', 'a repeat: no event');

# A new price: both tables, an edit of each sent message.
$j = send_event($TRAFFIC, event => 'update', id => $A, status_id => 142,
    price => 120000, updated_at => $T + 10);
is($j->{results}{processed}, 1, 'a new price: processed');
is(sale($A, 'trim_scale(sale_amount)'), '120000', 'a new price: the sale');
is(tracked($A), '120000', 'a new price: the dashboard');
is(events($A), 'won/webhook price_changed/webhook', 'a new price: its event');
is(q1("SELECT detail->>'old_amount' || '>' || (detail->>'amount') FROM"
    . " sale_events WHERE lead_id = $A AND kind = 'price_changed'"),
    '100000>120000', 'with the old and new amount');
wait_for('two edits', sub { telegram_calls('editMessageText') >= 2 });
outbox_done($A);
my @edits = telegram_calls('editMessageText');
is_deeply([sort map { "$_->{chat_id}:$_->{message_id}" } @edits],
    [sort map { "$_:$mid->{$_}" } keys %$mid],
    'each chat\'s message edited, by its message_id');
like($edits[0]{text}, qr/Сумма: 120,000 \x{20B8}/, 'with the new amount');
like($edits[0]{text}, qr/^\x{1F389} НОВАЯ ПРОДАЖА!\n/, 'in the same layout');
is(q1("SELECT processing_status || '|' || detail FROM webhook_logs WHERE"
    . " lead_id = $A ORDER BY id DESC LIMIT 1") =~ s/ \{.*//r,
    'success|price_changed', 'the log row says what changed');

# Out of order: an older event changes nothing and is logged 'stale'.
$j = send_event($TRAFFIC, event => 'update', id => $A, status_id => 142,
    price => 110000, updated_at => $T + 5);
is($j->{results}{skipped}, 1, 'an older event: skipped');
is(q1("SELECT processing_status || '|' || skip_reason FROM webhook_logs WHERE"
    . " lead_id = $A ORDER BY id DESC LIMIT 1"), 'skipped|stale',
    'with reason stale');
is(sale($A, 'trim_scale(sale_amount)'), '120000', 'the amount stays');
$j = send_event($TRAFFIC, event => 'status', id => $A, status_id => 143,
    updated_at => $T + 1);
is(tracked($A), '120000', 'an older loss does not reverse it either');

# Lost: out of the dashboard, a reply to each message.
$j = send_event($TRAFFIC, event => 'status', id => $A, status_id => 143,
    updated_at => $T + 20);
is($j->{results}{processed}, 1, 'lost: processed');
is(sale($A, 'sale_state'), 'reversed', 'lost: the sale is reversed');
is(tracked($A), 'none', 'lost: the dashboard no longer has it');
like(events($A), qr/ reversed\/webhook$/, 'lost: its event');
is(q1("SELECT detail->>'reason' || '|' || (detail->>'status_id') FROM"
    . " sale_events WHERE lead_id = $A AND kind = 'reversed'"), 'status|143',
    'with the new status as the reason');
my ($lrc, $lout) = ctl(['logs', '--lead', $A, '--limit', '1']);
like($lout, qr/\t$A\tsuccess\t[^\t]*\treversed \{/,
    'traffic-ctl logs says the row reversed the sale, not a plain success')
    or diag($lout);
wait_for('two replies', sub { (grep { $_->{reply_parameters} }
    telegram_calls('sendMessage')) >= 2 });
outbox_done($A);
my @replies = grep { $_->{reply_parameters} } telegram_calls('sendMessage');
is_deeply([sort map { "$_->{chat_id}:$_->{reply_parameters}{message_id}" }
    @replies], [sort map { "$_:$mid->{$_}" } keys %$mid],
    'a reply to each chat\'s message');
ok($replies[0]{reply_parameters}{allow_sending_without_reply},
    'that goes out even if the message was deleted');
is($replies[0]{text}, "\x{21A9}\x{FE0F} Продажа отменена: Курс &lt;A&gt; \x{2014}"
    . " 120,000 \x{20B8} (закрыто и не реализовано)", 'the reply\'s line, escaped');
is(sale($A, 'notification_status'), 'sent', 'the sale\'s own message stays sent');
# the same loss again: nothing
$j = send_event($TRAFFIC, event => 'status', id => $A, status_id => 143,
    updated_at => $T + 20);
is($j->{results}{skipped}, 1, 'lost again: skipped, as a lead in another status');
is(scalar(grep { $_->{reply_parameters} } telegram_calls('sendMessage')), 2,
    'and no second reply');
# lost, then moved on with a new price (still not won): no resurrection
$j = send_event($TRAFFIC, event => 'update', id => $A, status_id => 143,
    price => 125000, updated_at => $T + 25);
is(sale($A, 'sale_state') . '|' . tracked($A), 'reversed|none',
    'a lost lead\'s new price does not bring it back');
unlike(events($A), qr/ reversed\/webhook .+/, 'nor make an event');

# Won again: restored, with its price; a reply.
$j = send_event($TRAFFIC, event => 'status', id => $A, status_id => 142,
    price => 130000, updated_at => $T + 30);
is(sale($A, 'sale_state'), 'won', 'won again: restored');
is(tracked($A), '130000', 'won again: back in the dashboard, with its price');
like(events($A), qr/ restored\/webhook$/, 'won again: its event');
wait_for('the restoration replies', sub { (grep { ($_->{text} // '') =~
    /восстановлена/ } telegram_calls('sendMessage')) >= 2 });
my ($back) = grep { ($_->{text} // '') =~ /восстановлена/ }
    telegram_calls('sendMessage');
is($back->{text}, "\x{2705} Продажа восстановлена: Курс &lt;A&gt; \x{2014}"
    . " 130,000 \x{20B8}", 'the restoration\'s line');
outbox_done($A);

# Deleted (only the id, as AmoCRM sends it), then restored; the reply in
# one chat meets a 429 first.
fake_queue('sendMessage', { status => 429, chat_id => $chats[1] + 0,
    body => { ok => JSON::PP::false, error_code => 429,
        description => 'Too Many Requests: retry after 1',
        parameters => { retry_after => 1 } } });
my $t429 = time;
$j = send_event($TRAFFIC, event => 'delete', id => $A);
is(sale($A, 'sale_state') . '|' . tracked($A), 'reversed|none',
    'deleted: reversed, out of the dashboard');
is(q1("SELECT detail->>'reason' FROM sale_events WHERE lead_id = $A AND"
    . " kind = 'reversed' ORDER BY id DESC LIMIT 1"), 'deleted',
    'deleted: the reason');
wait_for('the deletion replies', sub { (grep { ($_->{text} // '') =~
    /сделка удалена/ } telegram_calls('sendMessage')) >= 3 }, 20);
outbox_done($A);
my @del = grep { $_->{chat_id} == $chats[1] && $_->{time} >= $t429 &&
    ($_->{text} // '') =~ /сделка удалена/ } telegram_calls('sendMessage');
is(scalar @del, 2, 'a reply that met a 429 is sent again');
cmp_ok($del[1]{time} - $del[0]{time}, '>=', 0.9, 'after retry_after');
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id = $A AND"
    . " kind = 'reply' AND status = 'sent'"), 6, 'every reply sent once');
$j = send_event($TRAFFIC, event => 'restore', id => $A, status_id => 142,
    price => 130000, updated_at => $T + 40);
is(sale($A, 'sale_state') . '|' . tracked($A), 'won|130000',
    'restored from the trash: won again');
is(events($A), 'won/webhook price_changed/webhook reversed/webhook'
    . ' restored/webhook reversed/webhook restored/webhook',
    'the whole life in sale_events');
outbox_done($A);

# The unified endpoint follows the same rules.
my $U = 52000002;
send_event('/webhook/amocrm', event => 'status', id => $U, status_id => 142,
    price => 5000, updated_at => $T, utm_campaign => 'arystan_may');
outbox_done($U);
is(tracked($U), '5000', 'unified: a sale');
send_event('/webhook/amocrm', event => 'update', id => $U, status_id => 142,
    price => 6000, updated_at => $T + 1);
is(tracked($U), '6000', 'unified: a new price');
send_event('/webhook/amocrm', event => 'status', id => $U, status_id => 143,
    updated_at => $T + 2);
is(sale($U, 'sale_state') . '|' . tracked($U), 'reversed|none',
    'unified: lost, reversed');
outbox_done($U);

# A won deal whose price cannot be read is a sale, its amount unknown.
my $P = 52000003;
$j = send_event($TRAFFIC, event => 'status', id => $P, status_id => 142,
    price => '1,000', updated_at => $T);
is($j->{results}{processed}, 1, 'an unreadable price: still a sale');
is(sale($P, "coalesce(sale_amount::text, 'unknown')"), 'unknown',
    'with its amount unknown');
like(q1("SELECT detail FROM webhook_logs WHERE lead_id = $P"),
    qr/price is not a decimal number: the amount is unknown/,
    'the log row says why');
outbox_done($P);

# A reversal while the message is still pending: it never goes, and no
# reply is sent about it.
my $R = 52000004;
fake_queue('sendMessage', { status => 500, body => 'down' },
    { status => 500, body => 'down' });
send_event($TRAFFIC, event => 'status', id => $R, status_id => 142,
    price => 700, updated_at => $T);
wait_for('the failed attempts', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE lead_id = $R AND attempts = 1 AND"
    . " lease_until IS NULL") == 2 });
send_event($TRAFFIC, event => 'status', id => $R, status_id => 143,
    updated_at => $T + 1);
is(psql("SELECT string_agg(DISTINCT status, ',') FROM notification_outbox"
    . " WHERE lead_id = $R"), 'disabled', 'its messages are cancelled');
is(sale($R, 'notification_status'), 'disabled', 'the sale says so');
my $before = grep { ($_->{text} // '') =~ /700 / } telegram_calls('sendMessage');
($rc, $out) = ctl(['deliver', '--now'], TRAFFIC_ENV_FILE => $envfile);
is(scalar(grep { ($_->{text} // '') =~ /700 / } telegram_calls('sendMessage')),
    $before, 'nothing is sent for it, even after deliver --now');
like($out, qr/deliver: 0 sent, 0 to retry, 0 failed; 0 pending/,
    'deliver finds nothing pending') or diag($out);
# won again: the cancelled message goes out after all, no reply; but not
# another sale's cancelled message, nor one of its own given up for another
# reason (rows made here as a cancelled sale and an unconfirmed one leave
# them)
my ($rid, $aid) = map { psql("SELECT id FROM sales_notifications WHERE"
    . " lead_id = $_") } $R, $A;
psql("INSERT INTO notification_outbox (sale_id, lead_id, chat_id, kind,"
    . " status, last_error) VALUES ($aid, $A, '-1005200000009', 'sale',"
    . " 'disabled', 'the sale was reversed before this went out'), ($rid, $R,"
    . " '-1005200000009', 'sale', 'disabled', 'unconfirmed: not won in AmoCRM')");
send_event($TRAFFIC, event => 'status', id => $R, status_id => 142,
    price => 700, updated_at => $T + 2);
outbox_done($R);
is(psql("SELECT string_agg(kind || ':' || status, ',' ORDER BY id) FROM"
    . " notification_outbox WHERE lead_id = $R AND chat_id <> '-1005200000009'"),
    'sale:sent,sale:sent',
    'restored before it went out: the message is sent, nothing else');
is(psql("SELECT string_agg(lead_id || ':' || status, ',' ORDER BY id) FROM"
    . " notification_outbox WHERE chat_id = '-1005200000009'"),
    "$A:disabled,$R:disabled", 'other cancelled messages stay so');
psql("DELETE FROM notification_outbox WHERE chat_id = '-1005200000009'");

# Edits under 429, an edit Telegram refuses and one it does not need.
my $E = 52000005;
send_event($TRAFFIC, event => 'status', id => $E, status_id => 142,
    price => 1000, updated_at => $T);
outbox_done($E);
my $n0 = telegram_calls('editMessageText');
fake_queue('editMessageText', { status => 429, chat_id => $chats[0] + 0,
    body => { ok => JSON::PP::false, error_code => 429,
        description => 'Too Many Requests: retry after 1',
        parameters => { retry_after => 1 } } },
    { status => 400, chat_id => $chats[1] + 0, body => {
        ok => JSON::PP::false, error_code => 400,
        description => 'Bad Request: message to edit not found' } });
my $t0 = time;
send_event($TRAFFIC, event => 'update', id => $E, status_id => 142,
    price => 2000, updated_at => $T + 1);
wait_for('the edit after its 429', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE lead_id = $E AND kind = 'edit' AND"
    . " status = 'sent'") == 2 }, 20);
my @e = grep { $_->{time} >= $t0 } telegram_calls('editMessageText');
my @first = grep { $_->{chat_id} == $chats[0] } @e;
is(scalar @first, 2, '429: the edit is sent again');
cmp_ok($first[1]{time} - $first[0]{time}, '>=', 0.9, 'after retry_after');
is(scalar(grep { $_->{chat_id} == $chats[1] } @e), 1,
    'a message to edit not found: not retried');
like(q1("SELECT last_error FROM notification_outbox WHERE lead_id = $E AND"
    . " kind = 'edit' AND chat_id = '$chats[1]'"),
    qr/not edited: Bad Request: message to edit not found/,
    'and recorded as done, with Telegram\'s reason');
fake_default('editMessageText', { status => 400, body => {
    ok => JSON::PP::false, error_code => 400,
    description => 'Bad Request: message is not modified' } });
send_event($TRAFFIC, event => 'update', id => $E, status_id => 142,
    price => 3000, updated_at => $T + 2);
outbox_done($E);
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id = $E AND"
    . " kind = 'edit' AND status = 'sent'"), 4,
    '"message is not modified": done, not an error');
fake_default('editMessageText', undef);

# traffic-ctl sale: the whole life; reassign: on purpose, with edits.
($rc, $out) = ctl(['sale', $A]);
is($rc, 0, 'traffic-ctl sale: exit 0') or diag($out);
$out = decode('UTF-8', $out);
like($out, qr/sale_state\s+won/, 'sale: its state');
like($out, qr/dashboard\s+130000 Kenesary/, 'sale: the dashboard has it');
is(scalar(() = $out =~ /\t(?:won|price_changed|reversed|restored)\t/g), 6,
    'sale: its six events');
like($out, qr/\treply\t/, 'sale: its messages, replies included');
($rc, $out) = ctl(['reassign', $A, 'Arystan']);
is($rc, 0, 'reassign: exit 0') or diag($out);
like($out, qr/lead $A: Kenesary -> Arystan, 2 messages to edit/, 'reassign says so');
is(sale($A, 'targetologist') . '|' . q1("SELECT targetologist FROM"
    . " all_sales_tracking WHERE lead_id = $A"), 'Arystan|Arystan',
    'reassign: both tables');
like(events($A), qr/ reassigned\/operator$/, 'reassign: an operator event');
($rc, $out) = ctl(['reassign', $A, 'Nobody']);
is($rc, 1, 'reassign to a name not in the rules: refused');
# the sidecar sends the reassignment's edits
wait_for('the reassignment edits', sub { (grep { ($_->{text} // '') =~
    /Arystan/ } telegram_calls('editMessageText')) >= 2 });
is(sale($A, 'targetologist'), 'Arystan', 'later UTM edits do not move it back:');
send_event($TRAFFIC, event => 'update', id => $A, status_id => 142,
    price => 130000, updated_at => $T + 50, utm_campaign => 'tripwire_new');
is(sale($A, 'targetologist'), 'Arystan', 'the attribution stays frozen');

# TELEGRAM_CORRECTIONS=0: reversals send no reply.
stop_deliver();
stop_pool();
$envfile = write_env(%env, TELEGRAM_CORRECTIONS => 0);
start_pool(workers => 2, env_file => $envfile);
start_deliver(env_file => $envfile);
my $replies0 = grep { $_->{reply_parameters} } telegram_calls('sendMessage');
send_event($TRAFFIC, event => 'status', id => $E, status_id => 143,
    updated_at => $T + 3);
is(sale($E, 'sale_state'), 'reversed', 'corrections off: still reversed');
outbox_done($E);
is(scalar(grep { $_->{reply_parameters} } telegram_calls('sendMessage')),
    $replies0, 'corrections off: no reply');
done_testing();
