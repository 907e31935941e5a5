# A burst in a paced group chat (TELEGRAM_CHAT_INTERVAL_MS 1000,
# TELEGRAM_GROUP_PER_MINUTE 20, the defaults): 60 sales through nginx and
# the pool, the deliver sidecar running.  Past TELEGRAM_BATCH_AFTER waiting
# sales the next send combines up to ten: every sale in exactly one
# message, in sale order, each message within the pace and Telegram's 4096
# characters (long lines: fewer sales, never a cut line), the burst out in
# seconds instead of three minutes; each sale recorded against its message,
# so a new price edits the combined message (all its lines again) and a
# reversal replies to it.  A lone sale keeps the seed's message, and
# TELEGRAM_BATCH_AFTER=0 sends one message a sale.
use strict;
use warnings;
use utf8;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $chat = -1005900000001;
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my %env = (TELEGRAM_BOT_TOKEN => '5900:BURST-token', TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_IDS => $chat, ALERT_CHECK_S => 3600,
    RECONCILE_INTERVAL_S => 0);
my $envfile = write_env(%env);
start_pool(workers => 4, env_file => $envfile, sidecar => 0);
start_nginx();
start_deliver(env_file => $envfile);

# Telegram's length: the text without tags, entities decoded, in UTF-16.
sub tg_length {
    (my $t = $_[0]) =~ s/<[^>]*>//g;
    $t =~ s/&lt;/</g; $t =~ s/&gt;/>/g; $t =~ s/&quot;/"/g; $t =~ s/&amp;/&/g;
    return length($t) + (() = $t =~ /[\x{10000}-\x{10FFFF}]/g);
}
# The leads a message carries, from its lines' campaigns ("b<lead>_...").
sub leads_of {
    my ($text) = @_;
    if ($text =~ /^🎉 НОВЫЕ ПРОДАЖИ: (\d+)\n/) {
        my $n = $1;
        my @lines = split /\n/, $text;
        shift @lines;
        return { n => $n, leads => [map { /— b(\d+)_/ ? $1 : 'bad' } @lines] };
    }
    return { n => 1, leads => [$text =~ /Кампания: b(\d+)_/ ? $1 : 'bad'],
        single => 1 };
}
sub sale {
    my ($id, %f) = @_;
    my $r = post_form('/webhook/amocrm/traffic', lead_form(id => $id,
        status_id => 142, pipeline_id => 10418746, price => 1000 + $id % 1000,
        utm_campaign => "b${id}_tripwire" . ($f{long} ? 'x' x 480 : ''),
        %f));
    return $r->{status};
}

# The burst: 60 sales as fast as they come, ten of them with long lines,
# all waiting when the sidecar comes (as after a restart, and so the same
# messages however fast this machine is).
stop_deliver();
my $t0 = time;
my @ids = map { 59000000 + $_ } 1 .. 60;
my $answered = grep { sale($_, long => $_ % 100 >= 21 && $_ % 100 <= 30)
    == 200 } @ids;
is($answered, 60, '60 sales answered 200');
start_deliver(env_file => $envfile);
wait_for('every message', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE status = 'sent'") == 60 }, 120);
my $took = time - $t0;
my @msgs = sent_messages();
my @carried = map { leads_of($_->{text}) } @msgs;
my @order = map { @{ $_->{leads} } } @carried;
my @sale_order = split /,/, psql("SELECT string_agg(lead_id::text, ','"
    . " ORDER BY created_at, id) FROM notification_outbox");
is(scalar @order, 60, 'the messages carry 60 sales');
my %seen;
$seen{$_}++ for @order;
is(scalar(grep { $seen{$_} == 1 } @ids), 60, 'each sale in exactly one'
    . ' message');
is(join(',', @order), join(',', @sale_order), 'in the order of the sales');
is(scalar(grep { $_->{n} != @{ $_->{leads} } } @carried), 0,
    'each header counts its lines');
my ($longest) = sort { $b <=> $a } map { tg_length($_->{text}) } @msgs;
cmp_ok($longest, '<=', 4096, "no message over 4096 characters ($longest)");
my @short = grep { !$_->{single} && $_->{n} < 10 && grep { $_ >= 59000021
    && $_ <= 59000030 } @{ $_->{leads} } } @carried;
ok(@short >= 1, 'the long lines went fewer to a message');
cmp_ok(scalar @msgs, '<=', 15, scalar(@msgs) . ' messages for 60 sales');
cmp_ok($took, '<', 60, sprintf('all out in %.0f s (one a sale: 3 min at 20'
    . ' a minute)', $took));
my @gaps = map { $msgs[$_]{time} - $msgs[$_ - 1]{time} } 1 .. $#msgs;
my ($closest) = sort { $a <=> $b } @gaps;
cmp_ok($closest, '>=', 0.95, sprintf('a second between two (closest %.2f s)',
    $closest));
my $window = 0;
for my $i (0 .. $#msgs) {
    my $n = grep { $_->{time} >= $msgs[$i]{time}
        && $_->{time} < $msgs[$i]{time} + 60 } @msgs;
    $window = $n if $n > $window;
}
cmp_ok($window, '<=', 20, "at most 20 in any minute ($window)");

# Each sale is recorded against its message: the same groups.
my %by_message = map { split /\|/ } split /\n/, psql("SELECT"
    . " telegram_message_id, string_agg(lead_id::text, ',' ORDER BY"
    . " created_at, id) FROM notification_outbox GROUP BY 1");
is(join(' ', sort values %by_message), join(' ', sort map {
    join(',', @{ $_->{leads} }) } @carried), 'each sale recorded with the'
    . ' message id of the message it is in');
is(psql("SELECT count(*) FROM notification_outbox WHERE batch_id IS NOT NULL"),
    60 - grep({ $_->{single} } @carried), 'combined ones with their batch');

# A new price of a sale in a combined message: that message edited, all of
# its lines again, the new price in its own.
my ($combined) = grep { !$_->{single} && $_->{n} >= 3 } @carried;
my $lead = $combined->{leads}[1];
my $mid = psql("SELECT telegram_message_id FROM notification_outbox WHERE"
    . " lead_id = $lead");
post_form('/webhook/amocrm/traffic', lead_form(id => $lead, status_id => 142,
    pipeline_id => 10418746, price => 777777, utm_campaign =>
    "b${lead}_tripwire", event => 'update'));
wait_for('the edit', sub { telegram_calls('editMessageText') >= 1 }, 20);
my ($edit) = telegram_calls('editMessageText');
is($edit->{message_id}, $mid, 'the combined message is edited');
my $again = leads_of($edit->{text});
is(join(',', @{ $again->{leads} }), join(',', @{ $combined->{leads} }),
    'with all its lines, in their order');
my ($line) = grep { /b${lead}_/ } split /\n/, $edit->{text};
like($line, qr/— 777,777 ₸ —/, 'the new price in its line');
is(scalar(grep { /777,777/ } split /\n/, $edit->{text}), 1, 'and only there');

# A reversal replies to the combined message.
$lead = $combined->{leads}[0];
post_form('/webhook/amocrm/traffic', lead_form(id => $lead, status_id => 143,
    pipeline_id => 10418746, event => 'status'));
wait_for('the reply', sub { grep { $_->{reply_parameters} }
    sent_messages() }, 20);
my ($reply) = grep { $_->{reply_parameters} } sent_messages();
is($reply->{reply_parameters}{message_id}, $mid, 'a reversal answers the'
    . ' combined message');
like($reply->{text}, qr/^↩️ Продажа отменена/, 'saying so');

# One more sale, alone: the seed's message.
my $before = () = sent_messages();
sleep 1.1;
sale(59000099);
wait_for('the lone sale', sub { sent_messages() > $before }, 20);
like((sent_messages())[-1]{text}, qr/^🎉 НОВАЯ ПРОДАЖА!\n.*Кампания: b59000099_/s,
    'a lone sale: the seed\'s message');

# Sales waiting for a paced chat go before a newer one, even when the chat
# frees as the newer one comes (the sidecar away meanwhile).
stop_deliver();
$before = () = sent_messages();
psql("UPDATE telegram_chats SET next_at = now() + interval '2 seconds'");
sale(59000100 + $_) for 1 .. 3;
sleep 2.2;
sale(59000104);
sleep 1;
is(scalar(sent_messages()), $before, 'a newer sale does not take the chat'
    . ' from three waiting');
start_deliver(env_file => $envfile);
wait_for('the four', sub { psql("SELECT count(*) FROM notification_outbox"
    . " WHERE lead_id > 59000100 AND status = 'sent'") == 4 }, 20);
my @four = map { @{ leads_of($_->{text})->{leads} } }
    (sent_messages())[$before .. scalar(sent_messages()) - 1];
is(join(',', @four), join(',', map { 59000100 + $_ } 1 .. 4),
    'they go in the order of the sales');

# TELEGRAM_BATCH_AFTER=0: one message a sale, however many wait.
stop_deliver();
stop_pool();
fake_reset();
psql("UPDATE telegram_chats SET next_at = now(), recent = '{}'");
$envfile = write_env(%env, TELEGRAM_BATCH_AFTER => 0,
    TELEGRAM_CHAT_INTERVAL_MS => 200, TELEGRAM_GROUP_PER_MINUTE => 0);
start_pool(workers => 2, env_file => $envfile, sidecar => 0);
start_deliver(env_file => $envfile);
sale(59000200 + $_) for 1 .. 8;
wait_for('eight messages', sub { sent_messages() >= 8 }, 30);
sleep 0.5;
@msgs = sent_messages();
is(scalar @msgs, 8, 'TELEGRAM_BATCH_AFTER=0: eight sales, eight messages');
is(scalar(grep { /^🎉 НОВАЯ ПРОДАЖА!/ } map { $_->{text} } @msgs), 8,
    'each the seed\'s');
done_testing();
