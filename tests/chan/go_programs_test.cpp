// tests/chan/go_programs_test.cpp: C++ ports of the channel programs of Go's own test suite
// (test/chan/sieve1.go, sieve2.go, powser1.go, doubleselect.go, and test/closedchan.go), checking what
// they check. Goroutines that Go leaves blocked at exit are cancelled by the end of goro::run.
#include "test_util.hpp"

#include <array>
#include <deque>
#include <memory>
#include <numeric>
#include <queue>
#include <unordered_set>
#include <vector>

using namespace goro_test;

namespace {

// The first n primes, by trial division (the reference).
std::vector<int> first_primes(int n) {
    std::vector<int> out;
    for (int c = 2; static_cast<int>(out.size()) < n; ++c) {
        bool prime = true;
        for (int p : out) {
            if (p * p > c) break;
            if (c % p == 0) {
                prime = false;
                break;
            }
        }
        if (prime) out.push_back(c);
    }
    return out;
}

const std::vector<int> kFirst25 = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                                   43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};

}  // namespace

// ---- sieve1.go: the concurrent prime sieve (a chain of filter goroutines) -------------------------

namespace sieve1 {

void generate(goro::Chan<int> ch) {
    for (int i = 2;; ++i) ch.send(i);
}

void filter(goro::Chan<int> in, goro::Chan<int> out, int prime) {
    for (;;) {
        int i = *in.recv();
        if (i % prime != 0) out.send(i);
    }
}

void sieve(goro::Chan<int> primes) {
    goro::Chan<int> ch;
    goro::go([ch] { generate(ch); });
    for (;;) {
        int prime = *ch.recv();
        primes.send(prime);
        goro::Chan<int> ch1;
        goro::go([ch, ch1, prime] { filter(ch, ch1, prime); });
        ch = ch1;
    }
}

}  // namespace sieve1

TEST_CASE("chan_go_sieve1", "[chan][goprog]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> primes;
        goro::go([primes] { sieve1::sieve(primes); });
        for (int p : kFirst25) CHECK(primes.recv() == p);
        // Go stops at 25; go on to the 500th prime, a chain of 500 goroutines.
        auto want = first_primes(500);
        bool ok = true;
        for (std::size_t i = kFirst25.size(); i < want.size(); ++i) ok = ok && primes.recv() == want[i];
        CHECK(ok);
    });
}

// ---- sieve2.go: the Eratosthenes sieve over odd numbers, merging multiples through a heap ------------

namespace sieve2 {

// odd numbers from 5
goro::Chan<int> odds() {
    goro::Chan<int> out(50);
    goro::go([out] {
        for (int n = 5;; n += 2) out.send(n);
    });
    return out;
}

// odd multiples of the prime p, from p*p
goro::Chan<int> multiples(int p) {
    goro::Chan<int> out(10);
    goro::go([out, p] {
        for (int n = p * p;; n += 2 * p) out.send(n);
    });
    return out;
}

struct PeekCh {
    int head;
    goro::Chan<int> ch;
};
struct HeadGreater {
    bool operator()(const PeekCh& a, const PeekCh& b) const { return a.head > b.head; }
};

// sendproxy: a channel that forwards to `out` through an unbounded buffer, so that sending never blocks.
// Output is disabled (a nil channel in the select) while the buffer is empty.
goro::Chan<int> sendproxy(goro::Chan<int> out) {
    goro::Chan<int> proxy(10);
    goro::go([proxy, out] {
        std::deque<int> buf;
        for (;;) {
            goro::Chan<int> c = buf.empty() ? goro::Chan<int>::nil() : out;
            int e = buf.empty() ? 0 : buf.front();
            goro::select(goro::case_recv(proxy, [&](std::optional<int> v) { buf.push_back(*v); }),
                         goro::case_send(c, e, [&] { buf.pop_front(); }));
        }
    });
    return proxy;
}

goro::Chan<int> sieve() {
    goro::Chan<int> out(10);
    out.send(2);
    out.send(3);
    goro::Chan<int> composites(50);  // all composites to be eliminated, in increasing order
    goro::Chan<int> primes(10);      // the feedback loop
    primes.send(3);

    // Merge the channels of multiples of `primes` into `composites`.
    goro::go([primes, composites] {
        std::priority_queue<PeekCh, std::vector<PeekCh>, HeadGreater> h;
        int min = 15;
        for (;;) {
            goro::Chan<int> m = multiples(*primes.recv());
            int head = *m.recv();
            while (min < head) {
                composites.send(min);
                PeekCh minchan = h.top();
                h.pop();
                min = minchan.head;
                minchan.head = *minchan.ch.recv();
                h.push(minchan);
            }
            while (min == head) {
                PeekCh minchan = h.top();
                h.pop();
                min = minchan.head;
                minchan.head = *minchan.ch.recv();
                h.push(minchan);
            }
            composites.send(head);
            h.push(PeekCh{*m.recv(), m});
        }
    });

    // Sieve `composites` out of the candidates.
    goro::go([primes, composites, out] {
        goro::Chan<int> to_primes = sendproxy(primes);
        goro::Chan<int> candidates = odds();
        int p = *candidates.recv();
        for (;;) {
            int c = *composites.recv();
            while (p < c) {
                to_primes.send(p);
                out.send(p);
                p = *candidates.recv();
            }
            if (p == c) p = *candidates.recv();
        }
    });
    return out;
}

}  // namespace sieve2

TEST_CASE("chan_go_sieve2", "[chan][goprog]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> primes = sieve2::sieve();
        for (int p : kFirst25) CHECK(primes.recv() == p);
        auto want = first_primes(3000);
        bool ok = true;
        for (std::size_t i = kFirst25.size(); i < want.size() && ok; ++i) {
            auto v = primes.recv();
            if (v != want[i]) {
                INFO("prime #" << i << ": got " << v.value_or(-1) << ", want " << want[i]);
                CHECK(v == want[i]);
                ok = false;
            }
        }
    });
}

// ---- powser1.go: McIlroy's power series, as networks of goroutines over demand channels ----------

namespace powser {

// Rationals, normalised (den > 0); den == 0 is the end mark.
struct Rat {
    std::int64_t num = 0, den = 1;
    friend bool operator==(const Rat&, const Rat&) = default;
};

std::int64_t gcd(std::int64_t u, std::int64_t v) {
    std::int64_t g = std::gcd(u, v);
    return g == 0 ? 1 : g;
}
Rat i2tor(std::int64_t u, std::int64_t v) {
    std::int64_t g = gcd(u, v);
    return v >= 0 ? Rat{u / g, v / g} : Rat{-u / g, -v / g};
}
Rat itor(std::int64_t u) { return i2tor(u, 1); }
const Rat zero = itor(0);
const Rat one = itor(1);
const Rat finis = Rat{1, 0};
bool end(const Rat& u) { return u.den == 0; }
Rat add(Rat u, Rat v) {
    std::int64_t g = gcd(u.den, v.den);
    return i2tor(u.num * (v.den / g) + v.num * (u.den / g), u.den * (v.den / g));
}
Rat mul(Rat u, Rat v) {
    std::int64_t g1 = gcd(u.num, v.den), g2 = gcd(u.den, v.num);
    return Rat{(u.num / g1) * (v.num / g2), (u.den / g2) * (v.den / g1)};
}
Rat neg(Rat u) { return i2tor(-u.num, u.den); }
Rat inv(Rat u) {
    if (u.num == 0) throw std::domain_error("zero divide in inv");
    return i2tor(u.den, u.num);
}

// A power series is a demand channel: a request on req, then a coefficient on dat.
struct PS {
    goro::Chan<int> req;
    goro::Chan<Rat> dat;
};
using PS2 = std::shared_ptr<std::array<PS, 2>>;

PS mkPS() { return PS{goro::Chan<int>(), goro::Chan<Rat>()}; }
PS2 mkPS2() { return std::make_shared<std::array<PS, 2>>(std::array<PS, 2>{mkPS(), mkPS()}); }

void put(Rat dat, const PS& out) {
    out.req.recv();
    out.dat.send(dat);
}
Rat get(const PS& in) {
    in.req.send(0);
    return *in.dat.recv();
}

// split reads one demand channel and replicates its output onto two, which may be read at different
// rates. A generation is created at the first demand for an item and dies once the item went to both
// outputs; the newest serves out[0], the oldest out[1], and a release signal hands out[1] on (powser1.go).
void dosplit(PS in, PS2 out, goro::Chan<int> wait) {
    bool both = false;  // do not service both channels
    goro::select(goro::case_recv((*out)[0].req), goro::case_recv(wait, [&] {
                     both = true;
                     goro::select(goro::case_recv((*out)[0].req),
                                  goro::case_recv((*out)[1].req, [&] { std::swap((*out)[0], (*out)[1]); }));
                 }));
    in.req.send(0);
    goro::Chan<int> release;
    goro::go([in, out, release] { dosplit(in, out, release); });
    Rat dat = *in.dat.recv();
    (*out)[0].dat.send(dat);
    if (!both) wait.recv();
    (*out)[1].req.recv();
    (*out)[1].dat.send(dat);
    release.send(0);
}

void split(PS in, PS2 out) {
    goro::Chan<int> release;
    goro::go([in, out, release] { dosplit(in, out, release); });
    release.send(0);
}

// get2: one item from each of two series, requests and replies in whatever order they come (nil channels
// disable the cases already done).
std::array<Rat, 2> get2(const PS& in0, const PS& in1) {
    const PS* in[2] = {&in0, &in1};
    goro::Chan<int> req[2] = {in0.req, in1.req};
    goro::Chan<Rat> dat[2] = {goro::Chan<Rat>::nil(), goro::Chan<Rat>::nil()};
    std::array<Rat, 2> out;
    for (int n = 4; n > 0; --n) {
        goro::select(goro::case_send(req[0], 0,
                                     [&] {
                                         dat[0] = in[0]->dat;
                                         req[0] = goro::Chan<int>::nil();
                                     }),
                     goro::case_send(req[1], 0,
                                     [&] {
                                         dat[1] = in[1]->dat;
                                         req[1] = goro::Chan<int>::nil();
                                     }),
                     goro::case_recv(dat[0],
                                     [&](std::optional<Rat> v) {
                                         out[0] = *v;
                                         dat[0] = goro::Chan<Rat>::nil();
                                     }),
                     goro::case_recv(dat[1], [&](std::optional<Rat> v) {
                         out[1] = *v;
                         dat[1] = goro::Chan<Rat>::nil();
                     }));
    }
    return out;
}

void copy(PS in, PS out) {
    for (;;) {
        out.req.recv();
        out.dat.send(get(in));
    }
}

PS Rep(Rat c) {
    PS Z = mkPS();
    goro::go([c, Z] {
        for (;;) put(c, Z);
    });
    return Z;
}

// Split(U): a pair of copies of U.
PS2 Split(PS U) {
    PS2 UU = mkPS2();
    goro::go([U, UU] { split(U, UU); });
    return UU;
}

PS Add(PS U, PS V) {
    PS Z = mkPS();
    goro::go([U, V, Z] {
        for (;;) {
            Z.req.recv();
            auto uv = get2(U, V);
            switch (end(uv[0]) + 2 * end(uv[1])) {
                case 0: Z.dat.send(add(uv[0], uv[1])); break;
                case 1:
                    Z.dat.send(uv[1]);
                    copy(V, Z);
                    break;
                case 2:
                    Z.dat.send(uv[0]);
                    copy(U, Z);
                    break;
                case 3: Z.dat.send(finis); break;
            }
        }
    });
    return Z;
}

PS Cmul(Rat c, PS U) {
    PS Z = mkPS();
    goro::go([c, U, Z] {
        for (bool done = false; !done;) {
            Z.req.recv();
            Rat u = get(U);
            if (end(u)) done = true;
            else Z.dat.send(mul(c, u));
        }
        Z.dat.send(finis);
    });
    return Z;
}

PS Sub(PS U, PS V) { return Add(U, Cmul(neg(one), V)); }

PS Monmul(PS U, int n) {  // U times x^n
    PS Z = mkPS();
    goro::go([U, Z, n]() mutable {
        for (; n > 0; --n) put(zero, Z);
        copy(U, Z);
    });
    return Z;
}

PS Mon(Rat c, int n) {  // the monomial c x^n
    PS Z = mkPS();
    goro::go([c, Z, n]() mutable {
        if (c.num != 0) {
            for (; n > 0; --n) put(zero, Z);
            put(c, Z);
        }
        put(finis, Z);
    });
    return Z;
}

PS Shift(Rat c, PS U) {  // c + x U
    PS Z = mkPS();
    goro::go([c, U, Z] {
        put(c, Z);
        copy(U, Z);
    });
    return Z;
}

// Multiply: U = u + x UU, V = v + x VV; UV = uv + x (u VV + v UU) + x^2 UU VV.
PS Mul(PS U, PS V) {
    PS Z = mkPS();
    goro::go([U, V, Z] {
        Z.req.recv();
        auto uv = get2(U, V);
        if (end(uv[0]) || end(uv[1])) {
            Z.dat.send(finis);
        } else {
            Z.dat.send(mul(uv[0], uv[1]));
            PS2 UU = Split(U), VV = Split(V);
            PS W = Add(Cmul(uv[0], (*VV)[0]), Cmul(uv[1], (*UU)[0]));
            Z.req.recv();
            Z.dat.send(get(W));
            copy(Add(W, Mul((*UU)[1], (*VV)[1])), Z);
        }
    });
    return Z;
}

PS Diff(PS U) {
    PS Z = mkPS();
    goro::go([U, Z] {
        Z.req.recv();
        Rat u = get(U);
        if (!end(u)) {
            for (std::int64_t i = 1;; ++i) {
                u = get(U);
                if (end(u)) break;
                Z.dat.send(mul(itor(i), u));
                Z.req.recv();
            }
        }
        Z.dat.send(finis);
    });
    return Z;
}

PS Integ(Rat c, PS U) {  // integral, with constant of integration c
    PS Z = mkPS();
    goro::go([c, U, Z] {
        put(c, Z);
        for (std::int64_t i = 1;; ++i) {
            Z.req.recv();
            Rat u = get(U);
            if (end(u)) break;
            Z.dat.send(mul(i2tor(1, i), u));
        }
        Z.dat.send(finis);
    });
    return Z;
}

// Reciprocal: U = u + x UU, Z = z + x ZZ, z = 1/u, ZZ = -UU (z + x ZZ) / u.
PS Recip(PS U) {
    PS Z = mkPS();
    goro::go([U, Z] {
        PS2 ZZ = mkPS2();
        Z.req.recv();
        Rat z = inv(get(U));
        Z.dat.send(z);
        split(Mul(Cmul(neg(z), U), Shift(z, (*ZZ)[0])), ZZ);
        copy((*ZZ)[1], Z);
    });
    return Z;
}

// Exponential of a series with constant term 0: Z = exp(U), DZ = Z DU, integrated.
PS Exp(PS U) {
    PS2 ZZ = mkPS2();
    split(Integ(one, Mul((*ZZ)[0], Diff(U))), ZZ);
    return (*ZZ)[1];
}

// Monomial substitution U(c x^n): each u_i times c^i, followed by n-1 zeros.
PS MonSubst(PS U, Rat c0, int n) {
    PS Z = mkPS();
    goro::go([U, Z, c0, n] {
        Rat c = one;
        for (;;) {
            Z.req.recv();
            Rat u = get(U);
            Z.dat.send(end(u) ? finis : mul(u, c));
            c = mul(c, c0);
            if (end(u)) {
                Z.dat.send(finis);
                break;
            }
            for (int i = 1; i < n; ++i) {
                Z.req.recv();
                Z.dat.send(zero);
            }
        }
    });
    return Z;
}

// check: the next count coefficients of U all equal c.
bool check(PS U, Rat c, int count) {
    bool ok = true;
    for (int i = 0; i < count; ++i) {
        Rat r = get(U);
        if (!(r == c)) {
            UNSCOPED_INFO("coefficient " << i << ": got " << r.num << "/" << r.den << ", want " << c.num << "/"
                                         << c.den);
            ok = false;
        }
    }
    return ok;
}
bool checka(PS U, const std::vector<Rat>& a) {
    bool ok = true;
    for (std::size_t i = 0; i < a.size(); ++i) {
        Rat r = get(U);
        if (!(r == a[i])) {
            UNSCOPED_INFO("coefficient " << i << ": got " << r.num << "/" << r.den << ", want " << a[i].num << "/"
                                         << a[i].den);
            ok = false;
        }
    }
    return ok;
}

}  // namespace powser

TEST_CASE("chan_go_powser1", "[chan][goprog]") {
    using namespace powser;
    for_each_maxprocs({1, 2}, [](int) {
        const int N = 10;
        PS Ones = Rep(one), Twos = Rep(itor(2));
        CHECK(check(Ones, one, 5));
        CHECK(check(Add(Ones, Twos), itor(3), 5));  // 3 3 3 3 3

        std::vector<Rat> a(N);
        for (int i = 0; i < N; ++i) a[i] = itor(i + 1);
        CHECK(checka(Diff(Ones), a));  // 1 2 3 4 5

        a[0] = zero;  // integration constant
        for (int i = 1; i < N; ++i) a[i] = i2tor(1, i);
        CHECK(checka(Integ(zero, Ones), a));  // 0 1 1/2 1/3 1/4

        CHECK(check(Cmul(neg(one), Twos), itor(-2), 10));  // -2 -2 -2
        CHECK(check(Sub(Ones, Twos), itor(-1), 10));       // -1 -1 -1

        for (int i = 0; i < N; ++i) a[i] = itor(i + 1);
        CHECK(checka(Mul(Ones, Ones), a));  // 1/(1-x)^2 = 1 2 3 4 5

        // exp(1/(1-x) - 1)... as Go checks it: Exp(Ones), whose constant term is ignored.
        CHECK(checka(Exp(Ones), {itor(1), itor(1), i2tor(3, 2), i2tor(13, 6), i2tor(73, 24), i2tor(167, 40),
                                 i2tor(4051, 720), i2tor(37633, 5040), i2tor(43817, 4480), i2tor(4596553, 362880)}));

        // atan(x) = integral of 1/(1+x^2)
        for (int c = 1, i = 0; i < N; ++i) {
            if (i % 2 == 0) {
                a[i] = zero;
            } else {
                a[i] = i2tor(c, i);
                c = -c;
            }
        }
        CHECK(checka(Integ(zero, MonSubst(Ones, neg(one), 2)), a));  // 0 1 0 -1/3 0 1/5

        // Beyond powser1's checks, the classic series:
        // exp(x) = 1 + x + x^2/2! + ...: Exp of the finite series x.
        std::vector<Rat> e(N);
        for (std::int64_t i = 0, f = 1; i < N; ++i, f *= (i == 0 ? 1 : i)) e[static_cast<std::size_t>(i)] = i2tor(1, f);
        CHECK(checka(Exp(Mon(one, 1)), e));

        // sin and cos from sin' = cos, cos' = -sin, sin(0) = 0, cos(0) = 1: two split feedback loops.
        PS2 SS = mkPS2(), CC = mkPS2();
        split(Integ(zero, (*CC)[0]), SS);
        split(Integ(one, Cmul(neg(one), (*SS)[0])), CC);
        std::vector<Rat> sin_a(N), cos_a(N);
        std::int64_t fact = 1;
        for (int i = 0; i < N; ++i) {
            if (i > 0) fact *= i;
            int sign = (i / 2) % 2 == 0 ? 1 : -1;
            sin_a[i] = i % 2 == 1 ? i2tor(sign, fact) : zero;
            cos_a[i] = i % 2 == 0 ? i2tor(sign, fact) : zero;
        }
        CHECK(checka((*SS)[1], sin_a));  // 0 1 0 -1/6 0 1/120
        CHECK(checka((*CC)[1], cos_a));  // 1 0 -1/2 0 1/24

        // 1 / (1/(1-x)) = 1 - x
        std::vector<Rat> r(N, zero);
        r[0] = one;
        r[1] = itor(-1);
        CHECK(checka(Recip(Ones), r));

        // Finite series end: x^3 ends after 4 terms; x * x^3 = x^4 ends after 5.
        CHECK(checka(Mon(itor(5), 3), {zero, zero, zero, itor(5), finis}));
        CHECK(checka(Mul(Mon(one, 1), Mon(itor(2), 3)), {zero, zero, zero, zero, itor(2), finis}));
        CHECK(checka(Monmul(Mon(one, 0), 2), {zero, zero, one, finis}));
    });
}

// ---- doubleselect.go: a select must never run two of its cases -------------------------------------

TEST_CASE("chan_go_doubleselect", "[chan][goprog]") {
    const int iterations = static_cast<int>(scale(100000));
    for_each_maxprocs({1, 2}, [&](int) {
        goro::Chan<int> c1, c2, c3, c4, cmux;
        // sender sends a counter to one of four channels; if two cases both ran in one iteration, the same
        // value would go out twice.
        goro::go([=] {
            for (int i = 0; i < iterations; ++i)
                goro::select(goro::case_send(c1, i), goro::case_send(c2, i), goro::case_send(c3, i),
                             goro::case_send(c4, i));
            c1.close();
            c2.close();
            c3.close();
            c4.close();
        });
        // mux forwards each onto cmux; the last one to finish closes cmux.
        auto muxes_left = std::make_shared<std::atomic<int>>(4);
        for (auto in : {c1, c2, c3, c4}) {
            goro::go([in, cmux, muxes_left] {
                for (int v : in) cmux.send(v);
                if (muxes_left->fetch_sub(1) == 1) cmux.close();
            });
        }
        // recver checks for duplicates (and, beyond Go's test, that nothing is missing).
        std::vector<char> seen(static_cast<std::size_t>(iterations), 0);
        long dups = 0, count = 0;
        for (int v : cmux) {
            if (seen[static_cast<std::size_t>(v)]++) ++dups;
            ++count;
        }
        CHECK(dups == 0);
        CHECK(count == iterations);
    });
}

// ---- closedchan.go: receiving from and sending to closed channels, three ways ------------------------

namespace closedchan {

enum class Impl { Direct, Select, BigSelect };

// The operations of closedchan.go's Chan interface, implemented directly (XChan), via select (SChan) and via
// larger selects with a never-ready dummy case (SSChan).
struct C {
    goro::Chan<int> c;
    Impl impl;
    inline static goro::Chan<bool> dummy;  // never ready

    void send(int x) const {
        switch (impl) {
            case Impl::Direct: c.send(x); break;
            case Impl::Select: goro::select(goro::case_send(c, x)); break;
            case Impl::BigSelect: goro::select(goro::case_send(c, x), goro::case_recv(dummy)); break;
        }
    }
    bool nbsend(int x) const {
        bool sent = false;
        switch (impl) {
            case Impl::Direct: return c.try_send(x);
            case Impl::Select: goro::select(goro::case_default(), goro::case_send(c, x, [&] { sent = true; })); break;
            case Impl::BigSelect:
                goro::select(goro::case_recv(dummy), goro::case_default(), goro::case_send(c, x, [&] { sent = true; }));
                break;
        }
        return sent;
    }
    std::optional<int> recv() const {
        std::optional<int> out;
        auto take = [&](std::optional<int> v) { out = v; };
        switch (impl) {
            case Impl::Direct: return c.recv();
            case Impl::Select: goro::select(goro::case_recv(c, take)); break;
            case Impl::BigSelect: goro::select(goro::case_recv(dummy), goro::case_recv(c, take)); break;
        }
        return out;
    }
    // (value, selected): selected is false when the default case ran.
    std::pair<std::optional<int>, bool> nbrecv() const {
        std::optional<int> out;
        bool selected = false;
        auto take = [&](std::optional<int> v) {
            out = v;
            selected = true;
        };
        switch (impl) {
            case Impl::Direct: goro::select(goro::case_recv(c, take), goro::case_default()); break;
            case Impl::Select: goro::select(goro::case_default(), goro::case_recv(c, take)); break;
            case Impl::BigSelect:
                goro::select(goro::case_recv(dummy), goro::case_default(), goro::case_recv(c, take));
                break;
        }
        return {out, selected};
    }
};

void test1(const C& c) {
    for (int i = 0; i < 3; ++i) {
        // recv a close signal
        CHECK_FALSE(c.recv());
        CHECK_FALSE(c.c.try_recv());
        // with select: received without blocking, so selected == true
        auto [x, selected] = c.nbrecv();
        CHECK_FALSE(x);
        CHECK(selected);
    }
    // send panics, in both forms, and the value is discarded
    CHECK(throws_closed([&] { c.nbsend(1); }));
    CHECK_FALSE(c.recv());
    CHECK(throws_closed([&] { c.send(2); }));
    CHECK_FALSE(c.recv());
    CHECK(c.c.closed());
    CHECK(c.c.size() == 0);
}

void testasync1(const C& c) {  // the last value via recv
    CHECK(c.recv() == 1);
    test1(c);
}
void testasync2(const C& c) {  // the last value via try_recv
    CHECK(c.c.try_recv() == 1);
    test1(c);
}
void testasync3(const C& c) {  // the last value via a non-blocking select
    auto [x, selected] = c.nbrecv();
    CHECK(x == 1);
    CHECK(selected);
    test1(c);
}
void testasync4(const C& c) {  // the last value via range-for, which then ends
    int n = 0;
    for (int v : c.c) {
        CHECK(v == 1);
        ++n;
    }
    CHECK(n == 1);
    test1(c);
}

goro::Chan<int> closedsync() {
    goro::Chan<int> c;
    c.close();
    return c;
}
goro::Chan<int> closedasync() {
    goro::Chan<int> c(2);
    c.send(1);
    c.close();
    return c;
}

}  // namespace closedchan

TEST_CASE("chan_go_closedchan", "[chan][goprog]") {
    using namespace closedchan;
    auto body = [] {
        for (Impl impl : {Impl::Direct, Impl::Select, Impl::BigSelect}) {
            INFO("impl " << static_cast<int>(impl));
            test1(C{closedsync(), impl});
            for (auto testclosed : {testasync1, testasync2, testasync3, testasync4}) {
                C c{closedasync(), impl};
                CHECK(c.c.size() == 1);
                CHECK(c.c.capacity() == 2);
                testclosed(c);
            }
        }
        // close of nil, and closing twice, panic
        CHECK(throws_closed([] { goro::Chan<int>::nil().close(); }));
        goro::Chan<int> ch;
        ch.close();
        CHECK(throws_closed([&] { ch.close(); }));
    };
    for_each_maxprocs({1, 2}, [&](int) { body(); });
}
