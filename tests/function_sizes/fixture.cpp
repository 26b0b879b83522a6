// A fixture for scripts/function-sizes (never compiled): each function's expected length (closing
// brace line minus opening brace line) is declared in an `expect:` comment above it.
#include <string>

namespace fixture {

// expect: plain 3
int plain(int x) {
  int y = x + 1;
  return y;
}

// expect: braces_in_literals 5
std::string braces_in_literals() {
  std::string a = "{ not a block {";
  char c = '{';
  const char* r = R"x( } } { )x";  // } in a comment
  return a + c + r;  /* { */
}

struct Holder {
  // expect: Holder 2
  Holder(int a, int b) : a_(a), b_{b} {
    a_ += b_;
  }
  // expect: get 0
  int get() const { return a_; }
  // expect: operator() 3
  int operator()(int x) const {
    auto f = [&](int y) { return y + a_; };
    return f(x);
  }

 private:
  int a_, b_;
};

template <typename T>
// expect: twice 2
T twice(T x) {
  return x + x;
}

// expect: with_control 10
int with_control(int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) {
    if (i % 2) {
      s += i;
    } else {
      s -= i;
    }
  }
  return s;
}

// expect: kLambda (lambda) 2
const auto kLambda = [](int x) {
  return x * 2;
};

}  // namespace fixture
