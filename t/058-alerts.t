# The deliver sidecar's alerts, each caused and cleared for real: AmoCRM's
# hook disabled and missing (the fake account lists it so), AmoCRM refusing
# the token, Telegram refusing the bot's token and a chat, a message that
# fails for good, requests stuck in the spool while PostgreSQL is stopped,
# no webhook for ALERT_SILENCE_H.  One message to ALERT_CHAT_IDS when a
# problem starts and one when it clears, never the same twice: not on the
# next checks, not after a restart, not with two sidecars.  Without
# ALERT_CHAT_IDS the log alone says it.  The metrics, the status page and
# traffic-ctl check show the same.
use strict;
use warnings;
use utf8;
use Encode ();
use JSON::PP;
use MIME::Base64 ();
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use TrafficTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $alert_chat = -1005800000009;
my $sales_chat = -1005800000001;
my $admin = 'alerts-admin-0123456789abcdef';
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api(fixtures => srcdir() . '/t/fixtures/amocrm');
my $hook = { id => 1, destination =>
    'https://api.example.com/webhook/amocrm/traffic', disabled =>
    JSON::PP::false, settings => ['status_lead', 'update_lead'] };
fake_amocrm(leads => {}, hooks => [$hook]);
my %env = (ADMIN_TOKEN => $admin, AMOCRM_ACCESS_TOKEN =>
    'amo-alerts-0123456789', AMOCRM_API_BASE => $api, AMOCRM_DOMAIN =>
    'onaiagencykz', TELEGRAM_BOT_TOKEN => '5800:ALR-token',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => $sales_chat,
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0,
    RECONCILE_INTERVAL_S => 0, ALERT_CHECK_S => 1, ALERT_SPOOL_S => 2,
    ALERT_MIN_S => 0,
    WEBHOOK_PUBLIC_URL => 'https://api.example.com/webhook/amocrm/traffic');
start_pool(workers => 2, env_file => write_env(%env), sidecar => 0);
start_nginx();

sub alerts {        # the texts posted to the alert chat so far
    map { $_->{text} } grep { ($_->{chat_id} // 0) == $alert_chat }
        sent_messages();
}
# wait_for, polling the fake 4 times a second (its list of requests grows)
sub patiently {
    my ($what, $cond, $timeout) = @_;
    my $until = time + ($timeout || 10);
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.25;
    }
    die "timed out waiting for $what\n";
}
sub rounds {        # two more of the sidecar's checks (each asks getMe)
    my $n = () = telegram_calls('getMe');
    patiently('two checks', sub { telegram_calls('getMe') >= $n + 2 }, 15);
}
sub log_lines { grep { /^alert: / } split /\n/, deliver_log() }
sub metric {
    my $r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
    return $r->{content} =~ /^traffic_webhook_alert_active\{alert="$_[0]"\} (\d)$/m
        ? $1 : 'none';
}
sub page {
    my $r = http('GET', '/admin/', undef, Authorization => 'Basic '
        . MIME::Base64::encode_base64("team:$admin", ''));
    return Encode::decode('UTF-8', $r->{content});
}
# Causes a problem and clears it: one message each way, none repeated.
sub cause_and_clear {
    my (%t) = @_;
    my $n = () = alerts();
    $t{cause}->();
    patiently("$t{name} to start", sub { alerts() > $n }, 15);
    rounds();
    my @new = (alerts())[$n .. alerts() - 1];
    is(scalar @new, 1, "$t{name}: one message when it starts");
    like($new[0] // '', $t{says}, "$t{name}: saying what and what to do");
    like($new[0] // '', qr/^⚠️ traffic-webhook@\S+: /, "$t{name}: a warning,"
        . ' naming the host');
    is(metric($t{alert}), 1, "$t{name}: the metric says so");
    like(page(), qr/data-alert="$t{alert}"/, "$t{name}: the status page too");
    $t{during}->() if $t{during};
    $t{clear}->();
    patiently("$t{name} to clear", sub { alerts() > $n + 1 }, 15);
    rounds();
    @new = (alerts())[$n .. alerts() - 1];
    is(scalar @new, 2, "$t{name}: one more when it clears");
    like($new[1] // '', qr/^✅ traffic-webhook@\S+, решено: /,
        "$t{name}: saying it is solved");
    like($new[1] // '', $t{says}, "$t{name}: and what was");
    is(metric($t{alert}), 0, "$t{name}: the metric is back to 0");
    unlike(page(), qr/data-alert="$t{alert}"/, "$t{name}: the page is quiet");
}

# Without ALERT_CHAT_IDS: the log alone.
start_deliver(env_file => write_env(%env));
rounds();
is(scalar(alerts()), 0, 'all well: no alert');
is(psql("SELECT count(*) FROM traffic_alerts WHERE active"), 0,
    'none active');
fake_amocrm(hooks => [{ %$hook, disabled => JSON::PP::true }]);
patiently('the log', sub { grep { /amocrm_hook started/ } log_lines() });
fake_amocrm(hooks => [$hook]);
patiently('the log', sub { grep { /amocrm_hook cleared/ } log_lines() });
is(scalar(grep { $_->{text} =~ /traffic-webhook@/ } sent_messages()), 0,
    'no ALERT_CHAT_IDS: no message anywhere, the log says it');
stop_deliver();

$env{ALERT_CHAT_IDS} = $alert_chat;
my $envfile = write_env(%env);
start_deliver(env_file => $envfile);
rounds();
is(scalar(alerts()), 0, 'with ALERT_CHAT_IDS, all well: nothing posted');

cause_and_clear(name => 'hook disabled', alert => 'amocrm_hook',
    says => qr/AmoCRM отключил вебхук/,
    cause => sub { fake_amocrm(hooks => [{ %$hook, disabled => JSON::PP::true }]) },
    during => sub {
        # a restart while it lasts: not said again
        stop_deliver();
        start_deliver(env_file => $envfile);
        rounds();
        is(scalar(grep { /отключил/ } alerts()), 1,
            'hook disabled: a restarted sidecar does not say it again');
        my ($crc, $cout) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
        like($cout, qr/^problem: .*disabled/m, 'check: the hook disabled');
    },
    clear => sub { fake_amocrm(hooks => [$hook]) });
cause_and_clear(name => 'hook missing', alert => 'amocrm_hook',
    says => qr/В AmoCRM нет вебхука на этот сервис/,
    cause => sub { fake_amocrm(hooks => [{ %$hook, destination =>
        'https://elsewhere.example.com/hook' }]) },
    clear => sub { fake_amocrm(hooks => [$hook]) });
cause_and_clear(name => 'AmoCRM token refused', alert => 'amocrm_token',
    says => qr/AmoCRM не принимает AMOCRM_ACCESS_TOKEN/,
    cause => sub { fake_default('/api/v4/webhooks', { status => 401,
        body => { title => 'Unauthorized', status => 401 } }) },
    clear => sub { fake_default('/api/v4/webhooks', undef) });
cause_and_clear(name => 'bot token refused', alert => 'telegram_token',
    says => qr/Telegram не принимает токен бота/,
    cause => sub { fake_default('getMe', { status => 401, body => {
        ok => JSON::PP::false, error_code => 401,
        description => 'Unauthorized' } }) },
    clear => sub { fake_default('getMe', undef) });
cause_and_clear(name => 'chat refused', alert => 'telegram_chat',
    says => qr/Бот не может писать в чат \Q$sales_chat, $alert_chat\E:/,
    cause => sub { fake_default('getChat', { status => 400, body => {
        ok => JSON::PP::false, error_code => 400,
        description => 'Bad Request: chat not found' } }) },
    clear => sub { fake_default('getChat', undef) });

# A message that fails for good; cleared when the operator resends it.
cause_and_clear(name => 'failed message', alert => 'failed_messages',
    says => qr/Сообщений о продажах не доставлено за сутки: 1 \(Bad Request: chat not found\)/,
    cause => sub {
        fake_queue('sendMessage', { chat_id => $sales_chat, status => 400,
            body => { ok => JSON::PP::false, error_code => 400,
            description => 'Bad Request: chat not found' } });
        fake_amocrm(lead => api_lead(id => 58000001, price => 5000,
            status_id => 142, pipeline_id => 10418746,
            utm_campaign => 'tripwire_m'));
        my $r = post_form('/webhook/amocrm/traffic', lead_form(id => 58000001,
            status_id => 142, pipeline_id => 10418746, price => 5000,
            utm_campaign => 'tripwire_m'));
        is($r->{status}, 200, 'failed message: the sale stored');
    },
    during => sub {
        my ($crc, $cout) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
        like($cout, qr/^problem: 1 Telegram message failed for good/m,
            'check: the failed message');
    },
    clear => sub {
        my ($crc, $cout) = ctl(['resend', 58000001],
            TRAFFIC_ENV_FILE => $envfile);
        # sent by resend itself, or by the sidecar that saw it first
        patiently('the resent message', sub { psql("SELECT status FROM"
            . " notification_outbox WHERE lead_id = 58000001") eq 'sent' });
        is($crc, 0, 'failed message: resent') or diag($cout);
    });

# PostgreSQL stopped: sales wait in the spool; the alert comes all the same.
cause_and_clear(name => 'spool stuck', alert => 'spool',
    says => qr/База данных недоступна: вебхуки ждут в спуле/,
    cause => sub {
        fake_amocrm(lead => api_lead(id => 58000002, price => 700,
            status_id => 142, pipeline_id => 10418746,
            utm_campaign => 'tripwire_m'));
        stop_pg('fast');
        my $r = post_form('/webhook/amocrm/traffic', lead_form(id => 58000002,
            status_id => 142, pipeline_id => 10418746, price => 700,
            utm_campaign => 'tripwire_m'));
        is($r->{status}, 200, 'spool stuck: the sale spooled');
    },
    during => sub {
        my ($crc, $cout) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
        like($cout, qr/^problem: requests have waited in the spool for \d+ s/m,
            'check: the spool stuck, the database away');
        my $r = http('GET', '/admin/', undef, Authorization => 'Basic '
            . MIME::Base64::encode_base64("team:$admin", ''));
        is($r->{status}, 503, 'spool stuck: the status page answers 503');
        like(Encode::decode('UTF-8', $r->{content}),
            qr/База данных недоступна.*<span id="spool">1<\/span>/s,
            'saying the database is away, one request waiting');
    },
    clear => sub { start_pg_again() });

# No webhook for ALERT_SILENCE_H hours.
stop_deliver();
$env{ALERT_SILENCE_H} = 1;
$envfile = write_env(%env);
start_deliver(env_file => $envfile);
cause_and_clear(name => 'silence', alert => 'silence',
    says => qr/От AmoCRM нет ни одного вебхука уже 2 ч/,
    cause => sub { psql("UPDATE webhook_logs SET received_at = received_at"
        . " - interval '2 hours'") },
    during => sub {
        my ($crc, $cout) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
        like($cout, qr/^problem: no webhook for 2 hours/m, 'check: the silence');
    },
    clear => sub { post_form('/webhook/amocrm/traffic', lead_form(
        id => 58000003, status_id => 143, pipeline_id => 10418746)) });

# Damping (ALERT_MIN_S=4): a problem that comes and goes within it posts
# nothing; one that lasts posts once it has lasted, and its end once that
# has.
stop_deliver();
start_deliver(env_file => write_env(%env, ALERT_MIN_S => 4));
rounds();
my $n = () = alerts();
fake_amocrm(hooks => [{ %$hook, disabled => JSON::PP::true }]);
rounds();
fake_amocrm(hooks => [$hook]);
rounds();
rounds();
sleep 4.5;
rounds();
is(scalar(alerts()), $n, 'damped: a hook off for two checks posts nothing');
my $t0 = time;
fake_amocrm(hooks => [{ %$hook, disabled => JSON::PP::true }]);
patiently('the damped alert', sub { alerts() > $n }, 15);
cmp_ok(time - $t0, '>=', 3.9, 'a lasting problem is posted after'
    . ' ALERT_MIN_S');
fake_amocrm(hooks => [$hook]);
patiently('the damped clear', sub { alerts() > $n + 1 }, 15);
is(scalar(alerts()), $n + 2, 'and its end once, when that lasted');
stop_deliver();
$envfile = write_env(%env);
start_deliver(env_file => $envfile);

# Two sidecars (two hosts): still one message each way.
start_deliver(env_file => $envfile);
cause_and_clear(name => 'two sidecars', alert => 'amocrm_hook',
    says => qr/AmoCRM отключил вебхук/,
    cause => sub { fake_amocrm(hooks => [{ %$hook, disabled => JSON::PP::true }]) },
    clear => sub { fake_amocrm(hooks => [$hook]) });

done_testing();
