# A request worker does no network work after its answer: the deliver
# sidecar, woken by each worker (a datagram in the spool, wake.h), sends the
# messages.  So a Telegram that takes the connection and never answers, with
# pacing off, holds no worker: 16 sales in parallel through nginx are all
# answered 200 well under a second, and all sent, once each, when Telegram
# is back.  A sale costs PostgreSQL one statement in the worker (the sale),
# a wake brings its message out within a few tens of milliseconds, and a
# paced chat still has one message in flight, a second later the next.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

start_pg(settings => ["log_statement = 'all'", "log_line_prefix = '%a|%p|'"]);
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $free = '-1003333333333';
my $paced = '-1006666666666';

# The statements of the workers (application_name traffic-webhook) from
# byte $from of the server log on.
sub worker_statements {
    my ($from) = @_;
    my %n;
    for (split /\n/, substr(pg_log(), $from)) {
        next unless /^traffic-webhook\|\d+\|LOG:  (?:statement|execute [^:]*): (.*)/;
        my $sql = $1;
        $n{$sql =~ /INSERT INTO sales_notifications/ ? 'sale' : 'other'}++;
    }
    return \%n;
}

# Unpaced, Telegram answering at once: a wake per sale, sent at once.
my $env = write_env(TELEGRAM_BOT_TOKEN => '222:HELD-token',
    TELEGRAM_CHAT_IDS => $free, TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0,
    TELEGRAM_TIMEOUT_MS => 2000, TELEGRAM_RETRY_BASE_MS => 300,
    TELEGRAM_BATCH_AFTER => 0, ALERT_CHECK_S => 3600);
start_pool(workers => 4, env_file => $env);
start_nginx();
my $mark = length pg_log();
my @delays;
for my $i (1 .. 5) {         # one sale at a time, each waiting for its own
    my $t0 = time;
    my $sent = grep { $_->{chat_id} == $free } sent_messages();
    is(post_sale(34000000 + $i)->{status}, 200, "sale $i");
    wait_for('its message', sub { (grep { $_->{chat_id} == $free }
        sent_messages()) > $sent });
    push @delays, (grep { $_->{chat_id} == $free } sent_messages())[$sent]{time}
        - $t0;
}
my ($delay) = sort { $b <=> $a } @delays;
cmp_ok($delay, '<', 0.25, sprintf('each sent by the sidecar within %.0f ms'
    . ' of its sale (woken, not waiting out its second)', $delay * 1000));
my $n = worker_statements($mark);
is($n->{sale}, 5, 'one sale statement per sale in the worker');
# and idle, the sidecar naps (a second, or until woken): three seconds
# of it are a few rounds of statements, not thousands
sub commits { psql("SELECT xact_commit FROM pg_stat_database WHERE datname"
    . " = current_database()") }
my $x0 = commits();
sleep 3;
my $idle = commits() - $x0;
cmp_ok($idle, '<', 200, "idle for 3 s: $idle transactions (a round a second), no busy loop");
is($n->{other} // 0, 0, 'and nothing else: no claim, no outcome');

# Telegram takes the connection and never answers: no worker is held.
fake_default('sendMessage', { delay => 30 });
my $hang = time;
my @took;
my $bad = in_parallel(16, sub {
    my ($k) = @_;
    my $s = time;
    my $r = post_sale(34000100 + $k);
    my $d = time - $s;
    return $r->{status} != 200 ? 1 : $d > 0.9 ? 2 : 0;
});
is($bad, 0, '16 sales in parallel with Telegram hanging: all answered 200,'
    . ' each within 0.9 s');
is(post_sale(34000200)->{status}, 200, 'and the next one too');
wait_for('the sidecar waiting on Telegram', sub {
    grep { $_->{time} >= $hang } sent_messages() }, 10);
fake_default('sendMessage', undef);
my $back = time;
wait_for('all sent once Telegram answers', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE lead_id BETWEEN 34000100 AND 34000200 AND"
    . " status = 'sent'") == 17 }, 60);
pass('all 17 sent once Telegram is back');
# (a row is 'sent' after its request reached the fake, and is final)
is(scalar(grep { $_->{time} >= $back } sent_messages()), 17,
    'one request each once Telegram answers: none twice');

# Paced (one message a second): one in flight, the next a second later.
stop_pool();
$env = write_env(TELEGRAM_BOT_TOKEN => '222:HELD-token',
    TELEGRAM_CHAT_IDS => $paced, TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_INTERVAL_MS => 1000, TELEGRAM_BATCH_AFTER => 0,
    ALERT_CHECK_S => 3600);
start_pool(workers => 2, env_file => $env);
is(post_sale(34100001)->{status}, 200, 'first paced sale answered');
is(post_sale(34100002)->{status}, 200, 'second sale answered at once');
wait_for('both sent', sub { psql("SELECT count(*) FROM notification_outbox"
    . " WHERE lead_id IN (34100001, 34100002) AND status = 'sent'") == 2 }, 10);
is(psql("SELECT (SELECT sent_at FROM notification_outbox WHERE lead_id ="
    . " 34100002) - (SELECT sent_at FROM notification_outbox WHERE lead_id ="
    . " 34100001) >= interval '1 second'"), 't',
    'the second went out at least a second after the first');
done_testing();
