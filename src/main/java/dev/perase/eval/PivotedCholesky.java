package dev.perase.eval;

/**
 * Cholesky factorisation with complete (diagonal) pivoting of a symmetric positive semi-definite
 * matrix, {@code P A Pᵀ = L Lᵀ} with L lower trapezoidal, n × r (LAPACK's {@code dpstrf}; Higham,
 * <i>Accuracy and Stability of Numerical Algorithms</i>, §10.3). Step j takes the largest remaining
 * diagonal entry as pivot and stops when it is at most {@code tol = n·ε·max diag(A)} (dpstrf's
 * default): the numerical rank r is the number of steps taken, and the neglected Schur complement
 * is of the order of rounding. A covariance of N &lt; n samples has rank N − 1: its factor has N −
 * 1 columns, so that products with it cost O(n² N) instead of O(n³).
 *
 * <p>Outer-product form on a full symmetric copy: each step scales the pivot column and subtracts
 * its outer product from the trailing block, row by row (contiguous, so the JIT vectorises it);
 * about n³/3 multiply-adds at full rank.
 */
final class PivotedCholesky {
  /** {@code l[k][j]} for {@code j < min(k + 1, rank)}: row k of L, i.e. of {@code P A Pᵀ}. */
  private final double[][] l;

  /** {@code perm[k]}: the row of A that row k of {@code P A Pᵀ} is. */
  private final int[] perm;

  private final int rank;

  /** Rows of G and of M computed together by {@link #congruence}. */
  private static final int BLOCK = 32;

  private PivotedCholesky(double[][] l, int[] perm, int rank) {
    this.l = l;
    this.perm = perm;
    this.rank = rank;
  }

  /** The numerical rank r (the number of columns of L). */
  int rank() {
    return rank;
  }

  /**
   * Factors the symmetric PSD matrix {@code a} (n × n; only its lower triangle is read, it is not
   * changed), stopping after {@code maxRank} steps at most (a bound known in advance: a covariance
   * of N samples has rank ≤ N − 1).
   */
  static PivotedCholesky of(double[][] a, int maxRank) {
    int n = a.length;
    double[][] w = new double[n][n];
    double maxDiag = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        w[i][j] = a[i][j];
        w[j][i] = a[i][j];
      }
      maxDiag = Math.max(maxDiag, a[i][i]);
    }
    double tol = n * Math.ulp(1.0) * maxDiag;
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    int rank = 0;
    double[] col = new double[n];
    for (int j = 0; j < Math.min(n, maxRank); j++) {
      int q = j;
      for (int i = j + 1; i < n; i++) {
        if (w[i][i] > w[q][q]) {
          q = i;
        }
      }
      if (!(w[q][q] > tol)) {
        break; // the rest is rounding: rank j
      }
      swap(w, perm, j, q);
      double pivot = Math.sqrt(w[j][j]);
      w[j][j] = pivot;
      for (int i = j + 1; i < n; i++) {
        col[i] = w[i][j] / pivot;
      }
      // trailing block −= c cᵀ, both triangles (the products are the same, so it stays symmetric)
      for (int i = j + 1; i < n; i++) {
        double ci = col[i];
        double[] row = w[i];
        row[j] = ci;
        if (ci != 0) {
          RowOps.axpy(-ci, col, j + 1, row, j + 1, n - j - 1);
        }
      }
      rank = j + 1;
    }
    return new PivotedCholesky(w, perm, rank);
  }

  /** Swaps index j and q of the symmetric {@code w}: rows, columns and the permutation. */
  private static void swap(double[][] w, int[] perm, int j, int q) {
    if (j == q) {
      return;
    }
    double[] r = w[j];
    w[j] = w[q];
    w[q] = r;
    for (double[] row : w) {
      double t = row[j];
      row[j] = row[q];
      row[q] = t;
    }
    int p = perm[j];
    perm[j] = perm[q];
    perm[q] = p;
  }

  /**
   * {@code M = Lᵀ (P B Pᵀ) L} (r × r, lower triangle filled) for a symmetric {@code b} (n × n,
   * lower triangle read). With {@code A = Pᵀ L Lᵀ P}, M is symmetric and has the non-zero
   * eigenvalues of {@code A B}: {@code eig(F Fᵀ B) = eig(Fᵀ B F)} away from 0, {@code F = Pᵀ L}.
   */
  double[][] congruence(double[][] b) {
    int n = l.length;
    int r = rank;
    // B' = P B Pᵀ as full rows: B'[i][k] = B[perm[i]][perm[k]]
    double[][] full = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k <= i; k++) {
        full[i][k] = b[i][k];
        full[k][i] = b[i][k];
      }
    }
    // G = B' L, n × r: row i accumulates B'[i][k] · (row k of L); a block of rows of G at a time,
    // so that each row of L is read once per block
    double[][] g = new double[n][r];
    for (int i0 = 0; i0 < n; i0 += BLOCK) {
      int i1 = Math.min(i0 + BLOCK, n);
      for (int k = 0; k < n; k++) {
        double[] lk = l[k];
        int len = Math.min(k + 1, r);
        int pk = perm[k];
        for (int i = i0; i < i1; i++) {
          double bik = full[perm[i]][pk];
          if (bik != 0) {
            RowOps.axpy(bik, lk, 0, g[i], 0, len);
          }
        }
      }
    }
    // M = Lᵀ G, lower triangle: M[a][0..a] += L[k][a] · G[k][0..a] over k ≥ a; a block of rows of
    // M at a time, which stays in cache while the rows of L and G go by
    double[][] m = new double[r][r];
    for (int a0 = 0; a0 < r; a0 += BLOCK) {
      int a1 = Math.min(a0 + BLOCK, r);
      for (int k = a0; k < n; k++) {
        double[] lk = l[k];
        double[] gk = g[k];
        for (int a = a0; a < Math.min(a1, k + 1); a++) {
          double lka = lk[a];
          if (lka != 0) {
            RowOps.axpy(lka, gk, 0, m[a], 0, a + 1);
          }
        }
      }
    }
    return m;
  }
}
