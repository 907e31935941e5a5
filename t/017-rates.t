# Unit tests of libtraffic's NBK rates parser (t/unit/test-rates.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-rates');
