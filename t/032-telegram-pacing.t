# Telegram pacing across the pool: a burst of 20 sales to one chat is
# queued, not dropped, and goes out about one message a second (Telegram's
# per-chat limit), each exactly once; a group gets no more than
# TELEGRAM_GROUP_PER_MINUTE messages in any minute.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $chat = '-1004444444444';
# one message a sale: the pace itself (t/059 combines waiting sales)
my $env = write_env(TELEGRAM_BOT_TOKEN => '111:PACE-token',
    TELEGRAM_CHAT_IDS => $chat, TELEGRAM_API_BASE => $api,
    TELEGRAM_BATCH_AFTER => 0);
start_pool(workers => 4, env_file => $env);
start_nginx();
start_deliver(env_file => $env);


# 20 sales as fast as four parallel senders can post them.
my $bad = in_parallel(4, sub {
    my ($k) = @_;
    return scalar grep { post_sale(32000000 + $k * 10 + $_)->{status} != 200 }
        1 .. 5;
});
is($bad, 0, '20 sales posted in a burst, all answered 200');
my $t0 = time;
wait_for('20 messages', sub { sent_messages() >= 20 }, 40);
my @m = sent_messages();
is(scalar @m, 20, 'all 20 arrived');
my %leads;
$leads{$_} = 1 for psql("SELECT string_agg(lead_id::text, ',') FROM"
    . " notification_outbox WHERE status = 'sent'") =~ /(\d+)/g;
is(scalar keys %leads, 20, 'each sale\'s row is sent, once');
my @gaps = map { $m[$_]{time} - $m[$_ - 1]{time} } 1 .. $#m;
my ($min) = sort { $a <=> $b } @gaps;
diag(sprintf('20 messages over %.1f s, smallest gap %.3f s',
    $m[-1]{time} - $m[0]{time}, $min));
cmp_ok($min, '>=', 0.9, 'never two messages to the chat within a second');
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id >= 32000000"
    . " AND notification_status = 'sent'"), 20, 'every sale says sent');

# A group limit of 3 a minute (100 ms between messages): the fourth and
# fifth wait for the minute to pass.
stop_deliver();
stop_pool();
my $group = '-1005555555555';
my $env2 = write_env(TELEGRAM_BOT_TOKEN => '111:PACE-token',
    TELEGRAM_CHAT_IDS => $group, TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_INTERVAL_MS => 100, TELEGRAM_GROUP_PER_MINUTE => 3,
    TELEGRAM_BATCH_AFTER => 0);
start_pool(workers => 2, env_file => $env2);
start_deliver(env_file => $env2);
is(post_sale(32001000 + $_)->{status}, 200, "group sale $_") for 1 .. 5;
my $n = sub { scalar grep { $_->{chat_id} == $group } sent_messages() };
wait_for('three messages', sub { $n->() >= 3 }, 10);
wait_for('their outcomes', sub { psql("SELECT count(*) FROM notification_outbox"
    . " WHERE lead_id > 32001000 AND status = 'sent'") >= 3 }, 10);
# the chat held for the minute: no claim can take another message before
cmp_ok(psql("SELECT extract(epoch FROM next_at - now()) FROM telegram_chats"
    . " WHERE chat_id = '$group'"), '>', 50, 'the group held for its minute');
is($n->(), 3, 'three sent, the rest held back');
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id > 32001000"
    . " AND status = 'pending'"), 2, 'two pending');
cmp_ok(psql("SELECT extract(epoch FROM next_at - recent[1]) FROM"
    . " telegram_chats WHERE chat_id = '$group'"), '>=', 59.9,
    'the next message may go a minute after the first of the three');
done_testing();
