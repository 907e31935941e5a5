# A worker sends its new sale's message without a claim of its own: the
# sale's statement holds the chats that are free, so a sale costs PostgreSQL
# two statements, the sale and the outcome.  An unpaced chat
# (TELEGRAM_CHAT_INTERVAL_MS=0, TELEGRAM_GROUP_PER_MINUTE=0) is sent to by
# every worker at once and its row is never written; a paced chat has one
# message in flight, and a sale that finds it held or paced leaves its
# message to the sidecar.
use strict;
use warnings;
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
psql("INSERT INTO telegram_chats (chat_id) VALUES ('$free'), ('$paced')");


# The pool's statements in the server log from byte $from on, by backend:
# { pid => { sale => n, record => n, claim => n, other => n } }.
sub statements {
    my ($from) = @_;
    my %n;
    for (split /\n/, substr(pg_log(), $from)) {
        next unless /^traffic-webhook\|(\d+)\|LOG:  (?:statement|execute [^:]*): (.*)/;
        my ($pid, $sql) = ($1, $2);
        my $kind = $sql =~ /INSERT INTO sales_notifications/ ? 'sale'
            : $sql =~ /^SELECT traffic_outbox_record/ ? 'record'
            : $sql =~ /^WITH chat AS/ ? 'claim' : 'other';
        $n{$pid}{$kind}++;
    }
    return \%n;
}

sub total {
    my ($n, $kind) = @_;
    my $t = 0;
    $t += $_->{$kind} // 0 for values %$n;
    return $t;
}

# Unpaced: 24 sales from 4 parallel posters, no sidecar.
my $env = write_env(TELEGRAM_BOT_TOKEN => '222:HELD-token',
    TELEGRAM_CHAT_IDS => $free, TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0);
start_pool(workers => 4, env_file => $env);
start_nginx();
my $mark = length pg_log();
my $chat_row = psql("SELECT xmin FROM telegram_chats WHERE chat_id = '$free'");
my $bad = in_parallel(4, sub {
    my ($k) = @_;
    return scalar grep { post_sale(34000000 + $k * 10 + $_)->{status} != 200 }
        1 .. 6;
});
is($bad, 0, '24 sales answered 200');
wait_for('24 messages sent', sub { psql("SELECT count(*) FROM notification_outbox"
    . " WHERE lead_id BETWEEN 34000000 AND 34000099 AND status = 'sent'") == 24 },
    20);
is(scalar(grep { $_->{chat_id} == $free } sent_messages()), 24,
    'the workers sent all 24 without a sidecar, each once');
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id BETWEEN"
    . " 34000000 AND 34000099 AND attempts = 1 AND lease_until IS NULL"), 24,
    'each in one attempt, its lease ended by the outcome');
my $n = statements($mark);
is(total($n, 'sale'), 24, '24 sale statements');
is(total($n, 'record'), 24, '24 outcome records');
my @claimers = grep { ($n->{$_}{claim} // 0) > 1 } keys %$n;
is(scalar @claimers, 0, 'no claim round trip per sale: at most one claim per'
    . ' worker (its first sale, before it knew the chats)')
    or diag(explain($n));
is(psql("SELECT xmin FROM telegram_chats WHERE chat_id = '$free'"), $chat_row,
    'the unpaced chat row was never written');

# Paced (one message a second): the chat is held while a message is in
# flight.  Telegram answers the first message after 2 s.
stop_pool();
$env = write_env(TELEGRAM_BOT_TOKEN => '222:HELD-token',
    TELEGRAM_CHAT_IDS => $paced, TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_INTERVAL_MS => 1000);
start_pool(workers => 2, env_file => $env);
fake_queue('sendMessage', { status => 200, delay => 2,
    body => { ok => JSON::PP::true, result => { message_id => 3401 } } });
my $first = time;
is(post_sale(34100001)->{status}, 200, 'first paced sale answered');
wait_for('its message in flight', sub {
    grep { $_->{chat_id} == $paced } sent_messages() });
is(psql("SELECT attempts, lease_until > now() FROM notification_outbox"
    . " WHERE lead_id = 34100001"), '1|t', 'held by its own sale statement');
is(psql("SELECT next_at > now() FROM telegram_chats WHERE chat_id = '$paced'"),
    't', 'the chat is held');
is(post_sale(34100002)->{status}, 200, 'second sale answered while the chat is held');
is(psql("SELECT status, attempts, lease_until IS NULL FROM notification_outbox"
    . " WHERE lead_id = 34100002"), 'pending|0|t',
    'the second message is not held: one in flight per chat');
wait_for('the first recorded', sub { psql("SELECT status FROM notification_outbox"
    . " WHERE lead_id = 34100001") eq 'sent' }, 10);
sleep 1.5;
is(scalar(grep { $_->{chat_id} == $paced } sent_messages()), 1,
    'the worker did not send the second: it is the sidecar\'s');
start_deliver(env_file => $env);
wait_for('the sidecar sends the second', sub { psql("SELECT status FROM"
    . " notification_outbox WHERE lead_id = 34100002") eq 'sent' }, 10);
my @m = sort { $a->{time} <=> $b->{time} }
    grep { $_->{chat_id} == $paced } sent_messages();
is(scalar @m, 2, 'two messages to the paced chat');
is(psql("SELECT (SELECT sent_at FROM notification_outbox WHERE lead_id ="
    . " 34100002) - (SELECT sent_at FROM notification_outbox WHERE lead_id ="
    . " 34100001) >= interval '1 second'"), 't',
    'the second went out at least a second after the first');

done_testing();
