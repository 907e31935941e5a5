# The daily summary.  A seeded day (sales through nginx and the pool, then
# dated in Asia/Almaty: 23:30 counts on that day, 00:30 on the next; a
# price change and a reversal that day) against the numbers computed here;
# the text as the team reads it (traffic-ctl digest --dry-run); the deliver
# sidecar's summaries: exactly once per chat and day with two sidecars and a
# restart, late (and saying so) for a day it missed, through the outbox's
# retries; DIGEST_AT still ahead or off: none; by hand for another day.
use strict;
use warnings;
use utf8;
use Encode ();
use JSON::PP;
use POSIX qw(mktime strftime);
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);
binmode(STDOUT, ':encoding(UTF-8)');

my @chats = (-1006000000001, -1006000000002);
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my %env = (TELEGRAM_BOT_TOKEN => '6000:DIG-token', TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_IDS => "$chats[0],$chats[1]:77",
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0,
    DIGEST_TZ => 'Asia/Almaty', DIGEST_AT => 'off', ALERT_CHECK_S => 3600,
    RECONCILE_INTERVAL_S => 0);
my $envfile = write_env(%env);
start_pool(workers => 2, env_file => $envfile);
start_nginx();

# The day D, yesterday in Almaty, and its neighbours, computed here.
local $ENV{TZ} = 'Asia/Almaty';
POSIX::tzset();
my @now = localtime;
sub at {            # at(days from today, "HH:MM"): an epoch in Almaty
    my ($days, $hm) = @_;
    my ($h, $m) = split /:/, $hm;
    return mktime(0, $m, $h, $now[3] + $days, $now[4], $now[5]);
}
my $D = strftime('%Y-%m-%d', localtime at(-1, '12:00'));
my $D_ru = strftime('%d.%m.%Y', localtime at(-1, '12:00'));

# [lead, campaign, price, when]
my @seed = (
    [60000001, 'tripwire_d', 100000, at(-1, '10:00')],   # Kenesary, D
    [60000002, 'tripwire_d', 50000, at(-1, '23:30')],    # Kenesary, D late
    [60000003, 'arystan_d', 70000, at(0, '00:30')],      # Arystan, D+1
    [60000004, 'nobody_d', 5000, at(-1, '12:00')],       # Unknown, D
    [60000005, 'tripwire_d', 30000, at(-2, '23:59')],    # Kenesary, D-1
    [60000006, 'traf4_d', 9000, at(-2, '00:00')],        # Traf4, D-1
    [60000007, 'muha_d', 40000, at(-1, '09:00')],        # Muha, D, reversed
    [60000008, 'nobody_d', 8000, at(-1, '00:00')],       # Unknown, D at 0:00
    [60000009, 'traf4_d', 6000, at(0, '00:00')],         # Traf4, D+1 at 0:00
);
for my $s (@seed) {
    my $r = post_form('/webhook/amocrm/traffic', lead_form(id => $s->[0],
        status_id => 142, pipeline_id => 10418746, price => $s->[2],
        utm_campaign => $s->[1]));
    is($r->{status}, 200, "sale $s->[0]");
}
# a new price for the first, the Muha sale reversed: both on D
post_form('/webhook/amocrm/traffic', lead_form(id => 60000001, event =>
    'update', status_id => 142, pipeline_id => 10418746, price => 120000,
    utm_campaign => 'tripwire_d'));
post_form('/webhook/amocrm/traffic', lead_form(id => 60000007,
    status_id => 143, pipeline_id => 10418746));
for my $s (@seed) {
    psql("UPDATE $_ SET sale_date = to_timestamp($s->[3]) WHERE lead_id ="
        . " $s->[0]") for qw(all_sales_tracking sales_notifications);
}
psql("UPDATE sale_events SET created_at = to_timestamp(" . at(-1, '15:00')
    . ") WHERE kind <> 'won'");
is(psql("SELECT string_agg(kind, ',' ORDER BY kind) FROM sale_events WHERE"
    . " kind <> 'won'"), 'price_changed,reversed', 'a price change and a'
    . ' reversal on D');
# the day's edges: the price change at D's first instant counts on D, a
# restoration at D+1's first instant does not
psql("UPDATE sale_events SET created_at = to_timestamp(" . at(-1, '00:00')
    . ") WHERE kind = 'price_changed'");
psql("INSERT INTO sale_events (lead_id, kind, source, detail, created_at)"
    . " VALUES (60000007, 'restored', 'webhook', '{\"amount\": 40000}',"
    . " to_timestamp(" . at(0, '00:00') . '))');

# The numbers, as the dashboard's tables hold them, by day here.
my %day;
for my $s (@seed) {
    next if $s->[0] == 60000007;                     # reversed: out
    my $d = strftime('%Y-%m-%d', localtime $s->[3]);
    my $who = $s->[1] =~ /^tripwire/ ? 'Kenesary' : $s->[1] =~ /^arystan/
        ? 'Arystan' : $s->[1] =~ /^traf4/ ? 'Traf4' : 'Unknown';
    my $price = $s->[0] == 60000001 ? 120000 : $s->[2];
    $day{$d}{$who}{n}++;
    $day{$d}{$who}{sum} += $price;
    $day{$d}{'*'}{n}++;
    $day{$d}{'*'}{sum} += $price;
}
my $prev = strftime('%Y-%m-%d', localtime at(-2, '12:00'));
sub money { my $v = reverse $_[0] // 0; $v =~ s/(\d{3})(?=\d)/$1,/g;
    return scalar(reverse $v) . ' ₸' }
sub word { my $n = shift; my ($d, $h) = ($n % 10, $n % 100);
    return $d == 1 && $h != 11 ? 'продажа' : $d >= 2 && $d <= 4
        && ($h < 12 || $h > 14) ? 'продажи' : 'продаж' }
sub expect_line {
    my ($emoji, $who) = @_;
    my $t = $day{$D}{$who} || {};
    my $y = $day{$prev}{$who} || {};
    my $n = $t->{n} // 0;
    return "$emoji $who: $n " . word($n) . ' — ' . money($t->{sum})
        . ' (вчера: ' . ($y->{n} // 0) . ' — ' . money($y->{sum}) . ')';
}

($rc, $out) = ctl(['digest', '--date', $D, '--dry-run'],
    TRAFFIC_ENV_FILE => $envfile);
is($rc, 0, 'digest --dry-run: exit 0') or diag($out);
my %lines = map { $_ => 1 } split /\n/, Encode::decode('UTF-8', $out);
ok($lines{"📊 Итоги дня: $D_ru"}, 'the day in its header');
for my $l (['👑', 'Kenesary'], ['🦁', 'Arystan'], ['🚀', 'Muha'],
           ['⚡', 'Traf4'], ['❓', 'Unknown']) {
    my $want = expect_line(@$l);
    ok($lines{$want}, "line: $want") or diag($out);
}
my $total = "💰 Всего: $day{$D}{'*'}{n} " . word($day{$D}{'*'}{n}) . ' — '
    . money($day{$D}{'*'}{sum}) . " (вчера: $day{$prev}{'*'}{n} — "
    . money($day{$prev}{'*'}{sum}) . ')';
ok($lines{$total}, "the total: $total") or diag($out);
ok($lines{'↩️ Отменено: 1 — 40,000 ₸'}, 'the reversal of the day');
ok($lines{'✏️ Изменена цена: 1'}, 'the price change of the day (at 00:00)');
ok(!grep({ /^✅ Восстановлено/ } keys %lines),
    'a restoration at the next day\'s 00:00 is not the day\'s');
is(scalar(grep { /^📊/ } map { $_->{text} } sent_messages()), 0,
    '--dry-run sent nothing');
is(psql("SELECT count(*) FROM notification_outbox WHERE kind = 'digest'"), 0,
    'and queued nothing');

# Over 12 targetologists: a line only for who sold on D or the day before
# (Kenesary both days, Traf4 the day before only, Unknown on D only).
my $many = tmpdir() . '/many.conf';
open my $fh, '>:utf8', $many or die;
print $fh "Kenesary | 👑 | tripwire\nArystan | 🦁 | arystan\nMuha | 🚀 | muha\n"
    . "Traf4 | ⚡ | traf4\n"
    . join('', map { "Extra$_ | • | extra$_\n" } 1 .. 9) . "Unknown | ❓ |\n";
close $fh;
($rc, $out) = ctl(['digest', '--date', $D, '--dry-run'],
    TRAFFIC_ENV_FILE => $envfile, TARGETOLOGISTS_FILE => $many);
is_deeply([map { /^(\S+) (\S+):/ ? $2 : () } grep { /продаж/ && !/Всего/ }
    split /\n/, Encode::decode('UTF-8', $out)], [qw(Kenesary Traf4 Unknown)],
    '13 targetologists: only the lines with sales on D or the day before')
    or diag($out);

# The edge: today's summary has the 00:30 sale, D's the 23:30 one.
my $today = strftime('%Y-%m-%d', localtime);
($rc, $out) = ctl(['digest', '--date', $today, '--dry-run'],
    TRAFFIC_ENV_FILE => $envfile);
like(Encode::decode('UTF-8', $out), qr/^🦁 Arystan: 1 продажа — 70,000 ₸ \(вчера: 0 — 0 ₸\)$/m,
    '00:30 in Almaty is the next day');
like(Encode::decode('UTF-8', $out), qr/^👑 Kenesary: 0 продаж — 0 ₸ \(вчера: 2 — 170,000 ₸\)$/m,
    '23:30 the day before');
like(Encode::decode('UTF-8', $out), qr/^⚡ Traf4: 1 продажа — 6,000 ₸ \(вчера: 0 — 0 ₸\)$/m,
    '00:00 is the day it begins');
like(Encode::decode('UTF-8', $out), qr/^✅ Восстановлено: 1$/m,
    'and so for a restoration');

# The sidecar, DIGEST_AT passed today and the install three days old:
# yesterday's summary (late) and today's, once per chat, with two sidecars.
# (First the pool's sidecar sends what the sales above queued.)
wait_for('the sales\' messages', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE status = 'pending'") == 0 }, 30);
stop_pool();
psql("UPDATE schema_migrations SET applied_at = now() - interval '3 days'"
    . " WHERE version = '009'");
sub digests { grep { $_->{text} =~ /^📊/ } sent_messages() }
$envfile = write_env(%env, DIGEST_AT => '00:00');
# the first summary meets a 429: the outbox retries it (what else was
# waiting goes first)
($rc, $out) = ctl(['deliver'], TRAFFIC_ENV_FILE => $envfile);
is(psql("SELECT count(*) FROM notification_outbox WHERE status = 'pending'"),
    0, 'nothing else waiting') or diag($out);
fake_queue('sendMessage', { status => 429, body => { ok => JSON::PP::false,
    error_code => 429, description => 'Too Many Requests: retry after 1',
    parameters => { retry_after => 1 } } });
start_deliver(env_file => $envfile);
my $second = start_deliver(env_file => $envfile);
wait_for('four summaries', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE kind = 'digest' AND status = 'sent'") == 4 },
    30);
sleep 1.5;
my @d = digests();
my %per;
$per{"$_->{chat_id}:" . ($_->{message_thread_id} // 0) . ':'
    . ($_->{text} =~ /Итоги дня: (\d\d\.\d\d\.\d{4})/)[0]}++ for @d;
is(scalar keys %per, 4, 'two sidecars: two days for two chats');
is(join(',', sort values %per), '1,1,1,2', 'each once, one of them again'
    . ' after its 429');
ok($per{"$chats[1]:77:$D_ru"}, 'in the chat\'s thread');
my ($late) = grep { /\Q$D_ru\E/ } map { $_->{text} } @d;
like($late, qr/С опозданием/, 'yesterday\'s says it is late');
like($late, qr/<b>Всего: /, 'in HTML');
is(psql("SELECT count(*) FROM notification_outbox WHERE kind = 'digest'"
    . " AND status = 'sent'"), 4, 'four outbox rows, sent');
cmp_ok(psql("SELECT max(attempts) FROM notification_outbox WHERE kind ="
    . " 'digest'"), '>=', 2, 'one of them after the 429');
stop_deliver();
stop_pid($second);
start_deliver(env_file => $envfile);
sleep 2;
is(scalar(digests()), scalar @d, 'a restarted sidecar sends none again');

# By hand: a day already sent is not sent twice; another day is.
($rc, $out) = ctl(['digest', '--date', $D], TRAFFIC_ENV_FILE => $envfile);
like($out, qr/queued for 0 chats \(the others have it already\)/,
    'by hand for a day sent: nothing twice');
my $older = strftime('%Y-%m-%d', localtime at(-2, '12:00'));
($rc, $out) = ctl(['digest', '--date', $older], TRAFFIC_ENV_FILE => $envfile);
is($rc, 0, 'by hand for another day: exit 0') or diag($out);
wait_for('its two', sub { digests() >= @d + 2 }, 20);
is(scalar(grep { /Итоги дня: \Q@{[strftime('%d.%m.%Y', localtime at(-2, '12:00'))]}\E/ }
    map { $_->{text} } digests()), 2, 'sent to both chats');
($rc, $out) = ctl(['digest', '--date', '2026-13-45'],
    TRAFFIC_ENV_FILE => $envfile);
isnt($rc, 0, 'a date that is none: refused');

# DIGEST_AT still ahead today, or off: nothing queued.
stop_deliver();
psql("DELETE FROM notification_outbox WHERE kind = 'digest'");
my $ahead = $now[2] < 22 ? sprintf('%02d:%02d', $now[2] + 1, $now[1]) : undef;
SKIP: {
    skip 'too close to midnight in Almaty for a time still ahead', 1
        unless $ahead;
    psql("UPDATE schema_migrations SET applied_at = now() WHERE version ="
        . " '009'");
    start_deliver(env_file => write_env(%env, DIGEST_AT => $ahead));
    sleep 2;
    is(psql("SELECT count(*) FROM notification_outbox WHERE kind ="
        . " 'digest'"), 0, "DIGEST_AT $ahead still ahead: none yet");
    stop_deliver();
}
psql("UPDATE schema_migrations SET applied_at = now() - interval '3 days'"
    . " WHERE version = '009'");
start_deliver(env_file => write_env(%env, DIGEST_AT => 'off'));
sleep 2;
is(psql("SELECT count(*) FROM notification_outbox WHERE kind = 'digest'"), 0,
    'DIGEST_AT=off: none');
done_testing();
