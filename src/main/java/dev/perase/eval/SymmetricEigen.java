package dev.perase.eval;

/**
 * Eigen-decomposition of a real symmetric matrix in double precision, {@code A = V Λ Vᵀ}:
 * Householder reduction to tridiagonal form ({@code A = Q T Qᵀ}), then implicit symmetric QR steps
 * with Wilkinson shifts on T (Golub &amp; Van Loan, Algorithms 8.3.1 and 8.3.2), accumulating the
 * Givens rotations into Q when eigenvectors are asked for. Cost about (4/3)n³ for the values alone
 * and about 9n³ with the vectors; backward stable, so every eigenvalue is exact to within a small
 * multiple of ε·‖A‖.
 */
final class SymmetricEigen {
  /** Sweeps of QR steps allowed per eigenvalue before giving up (a handful are typical). */
  private static final int MAX_STEPS_PER_VALUE = 60;

  private final double[] values;
  private final double[][] vectors;

  private SymmetricEigen(double[] values, double[][] vectors) {
    this.values = values;
    this.vectors = vectors;
  }

  /** Eigenvalues in ascending order. */
  double[] values() {
    return values;
  }

  /**
   * Column {@code j} of the result is the unit eigenvector of {@code values()[j]}; null if not
   * asked.
   */
  double[][] vectors() {
    return vectors;
  }

  /**
   * Decomposes the symmetric matrix {@code a} (n × n; only its lower triangle is read, it is not
   * changed).
   */
  static SymmetricEigen of(double[][] a, boolean wantVectors) {
    int n = a.length;
    double[][] t = new double[n][];
    for (int i = 0; i < n; i++) {
      if (a[i].length != n) {
        throw new IllegalArgumentException(
            "matrix is not square: row " + i + " has " + a[i].length);
      }
      t[i] = new double[n];
      for (int j = 0; j <= i; j++) {
        t[i][j] = a[i][j];
        t[j][i] = a[i][j];
      }
    }
    double[] d = new double[n];
    double[] e = new double[Math.max(n - 1, 0)];
    double[][] z = wantVectors ? identity(n) : null;
    tridiagonalize(t, d, e, z);
    diagonalize(d, e, z);
    sortAscending(d, z);
    return new SymmetricEigen(d, z);
  }

  private static double[][] identity(int n) {
    double[][] z = new double[n][n];
    for (int i = 0; i < n; i++) {
      z[i][i] = 1;
    }
    return z;
  }

  /**
   * Householder reduction {@code A = Q T Qᵀ}: for each column k, the reflector {@code H = I − β v
   * vᵀ} (β = 2 / vᵀv) maps {@code A[k+1:, k]} onto α·e₁; the trailing block B becomes {@code H B H
   * = B − v wᵀ − w vᵀ} with {@code p = β B v}, {@code w = p − (β vᵀp / 2) v}. Leaves the diagonal
   * in d, the sub-diagonal in e, and {@code Q} (the product of the reflectors) in z.
   */
  private static void tridiagonalize(double[][] a, double[] d, double[] e, double[][] z) {
    int n = a.length;
    for (int k = 0; k < n - 2; k++) {
      int m = n - k - 1; // length of the column below the diagonal
      double[] v = new double[m];
      double tail = 0;
      for (int i = 0; i < m; i++) {
        v[i] = a[k + 1 + i][k];
        if (i > 0) {
          tail += v[i] * v[i];
        }
      }
      if (tail == 0) {
        continue; // already tridiagonal in this column: H = I
      }
      double norm = Math.sqrt(v[0] * v[0] + tail);
      double alpha = v[0] > 0 ? -norm : norm; // sign opposite to v₀: no cancellation in v₀ − α
      v[0] -= alpha;
      double vtv = v[0] * v[0] + tail;
      double beta = 2 / vtv;
      // p = β B v over the trailing block B = a[k+1:, k+1:]
      double[] p = new double[m];
      for (int i = 0; i < m; i++) {
        double[] row = a[k + 1 + i];
        double s = 0;
        for (int j = 0; j < m; j++) {
          s += row[k + 1 + j] * v[j];
        }
        p[i] = beta * s;
      }
      double vp = 0;
      for (int i = 0; i < m; i++) {
        vp += v[i] * p[i];
      }
      double kk = beta * vp / 2;
      for (int i = 0; i < m; i++) {
        p[i] -= kk * v[i]; // p becomes w
      }
      for (int i = 0; i < m; i++) {
        double[] row = a[k + 1 + i];
        double vi = v[i];
        double wi = p[i];
        for (int j = 0; j < m; j++) {
          row[k + 1 + j] -= vi * p[j] + wi * v[j];
        }
      }
      a[k + 1][k] = alpha;
      a[k][k + 1] = alpha;
      for (int i = 1; i < m; i++) {
        a[k + 1 + i][k] = 0;
        a[k][k + 1 + i] = 0;
      }
      if (z != null) {
        // Q ← Q H: each row r of Q loses β (r·v) v on columns k+1..n−1
        for (double[] row : z) {
          double s = 0;
          for (int j = 0; j < m; j++) {
            s += row[k + 1 + j] * v[j];
          }
          s *= beta;
          if (s != 0) {
            for (int j = 0; j < m; j++) {
              row[k + 1 + j] -= s * v[j];
            }
          }
        }
      }
    }
    for (int i = 0; i < n; i++) {
      d[i] = a[i][i];
      if (i < n - 1) {
        e[i] = a[i + 1][i];
      }
    }
  }

  /**
   * Implicit symmetric QR with the Wilkinson shift on the tridiagonal (d, e), chasing the bulge
   * down with Givens rotations {@code G = [[c, s], [−s, c]]} on planes (k, k+1); an off-diagonal
   * entry counts as zero once {@code |e_k| ≤ ε (|d_k| + |d_{k+1}|)}.
   */
  private static void diagonalize(double[] d, double[] e, double[][] z) {
    int n = d.length;
    final double eps = Math.ulp(1.0);
    int hi = n - 1;
    int steps = 0;
    while (hi > 0) {
      if (negligible(e[hi - 1], d[hi - 1], d[hi], eps)) {
        e[hi - 1] = 0;
        hi--;
        continue;
      }
      int lo = hi - 1;
      while (lo > 0 && !negligible(e[lo - 1], d[lo - 1], d[lo], eps)) {
        lo--;
      }
      if (++steps > MAX_STEPS_PER_VALUE * n) {
        throw new ArithmeticException("symmetric QR did not converge in " + steps + " steps");
      }
      // Wilkinson shift: the eigenvalue of the trailing 2×2 block nearer to d[hi]
      double dd = (d[hi - 1] - d[hi]) / 2;
      double eh = e[hi - 1];
      double mu = d[hi] - eh * eh / (dd + (dd >= 0 ? 1 : -1) * Math.hypot(dd, eh));
      double x = d[lo] - mu;
      double y = e[lo];
      for (int k = lo; k < hi; k++) {
        double r = Math.hypot(x, y);
        double c = r == 0 ? 1 : x / r;
        double s = r == 0 ? 0 : -y / r;
        if (k > lo) {
          e[k - 1] = r; // the bulge at (k+1, k−1) is rotated into (k, k−1)
        }
        // 2×2 block [[a, b], [b, g]] → Gᵀ block G
        double a = d[k];
        double b = e[k];
        double g = d[k + 1];
        d[k] = a * c * c - 2 * b * c * s + g * s * s;
        d[k + 1] = a * s * s + 2 * b * c * s + g * c * c;
        e[k] = (a - g) * c * s + b * (c * c - s * s);
        if (k < hi - 1) {
          double f = e[k + 1];
          y = -f * s; // new bulge at (k+2, k)
          e[k + 1] = f * c;
          x = e[k];
        }
        if (z != null) {
          for (double[] row : z) {
            double zk = row[k];
            double zk1 = row[k + 1];
            row[k] = c * zk - s * zk1;
            row[k + 1] = s * zk + c * zk1;
          }
        }
      }
    }
  }

  private static boolean negligible(double e, double d0, double d1, double eps) {
    return Math.abs(e) <= eps * (Math.abs(d0) + Math.abs(d1)) || Math.abs(e) < Double.MIN_NORMAL;
  }

  /** Sorts the values ascending, moving the columns of z with them (selection sort: n swaps). */
  private static void sortAscending(double[] d, double[][] z) {
    int n = d.length;
    for (int i = 0; i < n - 1; i++) {
      int min = i;
      for (int j = i + 1; j < n; j++) {
        if (d[j] < d[min]) {
          min = j;
        }
      }
      if (min != i) {
        double t = d[i];
        d[i] = d[min];
        d[min] = t;
        if (z != null) {
          for (double[] row : z) {
            double u = row[i];
            row[i] = row[min];
            row[min] = u;
          }
        }
      }
    }
  }
}
