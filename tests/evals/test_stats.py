import pytest

from evals.stats import Rate, intervals_overlap, wilson_interval


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_interval_matches_published_values(successes, n, low, high):
    interval = wilson_interval(successes, n)

    assert interval == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_is_exactly_zero_and_one_at_the_extremes():
    assert wilson_interval(0, 17)[0] == 0.0
    assert wilson_interval(17, 17)[1] == 1.0


def test_wilson_interval_of_no_samples_is_none():
    assert wilson_interval(0, 0) is None


def test_smaller_z_gives_a_narrower_interval():
    wide = wilson_interval(5, 10)
    narrow = wilson_interval(5, 10, z=1.645)

    assert wide[0] < narrow[0] < narrow[1] < wide[1]


@pytest.mark.parametrize(("successes", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_interval_rejects_impossible_counts(successes, n):
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


def test_rate_carries_count_rate_and_interval():
    rate = Rate.of(5, 10)

    assert (rate.successes, rate.n, rate.rate) == (5, 10, 0.5)
    assert (rate.low, rate.high) == pytest.approx((0.2366, 0.7634), abs=5e-5)
    assert rate.measured


def test_rate_of_no_samples_is_not_measured_rather_than_zero():
    rate = Rate.of(0, 0)

    assert not rate.measured
    assert (rate.rate, rate.low, rate.high) == (None, None, None)


def test_separated_rates_do_not_overlap():
    assert not intervals_overlap(Rate.of(0, 20), Rate.of(20, 20))


def test_close_rates_overlap_in_either_order():
    a, b = Rate.of(5, 10), Rate.of(7, 10)

    assert intervals_overlap(a, b)
    assert intervals_overlap(b, a)


def test_an_unmeasured_rate_overlaps_everything():
    assert intervals_overlap(Rate.of(0, 0), Rate.of(20, 20))
