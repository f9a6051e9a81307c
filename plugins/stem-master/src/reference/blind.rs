//! The blind A/B test (lsp-plugins #201 asks for it): the editor hides which side plays, each
//! "shuffle" puts a random side on, and the user says which one they hear; the score is how
//! often they were right. Guessing at random scores about half; the one-sided binomial
//! probability of doing at least as well by chance is shown beside the score, so a 4 out of 5
//! is not taken for proof.

/// The test's state (editor only).
#[derive(Clone, Debug)]
pub struct BlindTest {
    /// xorshift64* state: the sides need no cryptographic quality, only no pattern a listener
    /// could learn.
    rng: u64,
    /// The side playing now (`true`: the reference) and whether it has been guessed.
    reference_playing: bool,
    guessed: bool,
    pub trials: u32,
    pub correct: u32,
}

impl BlindTest {
    /// A test seeded with `seed` (the editor seeds from the clock).
    pub fn new(seed: u64) -> Self {
        Self {
            rng: seed | 1,
            reference_playing: false,
            guessed: true,
            trials: 0,
            correct: 0,
        }
    }

    fn next(&mut self) -> u64 {
        // Vigna, "An experimental exploration of Marsaglia's xorshift generators" (2016).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Puts a random side on for the next guess; returns it (`true`: the reference).
    pub fn shuffle(&mut self) -> bool {
        self.reference_playing = self.next() >> 63 == 1;
        self.guessed = false;
        self.reference_playing
    }

    /// Whether a guess is awaited.
    pub fn awaiting_guess(&self) -> bool {
        !self.guessed
    }

    /// The user says the reference (`true`) or the master plays. Returns whether they were
    /// right, or `None` when no shuffle is awaiting a guess.
    pub fn guess(&mut self, reference: bool) -> Option<bool> {
        if self.guessed {
            return None;
        }
        self.guessed = true;
        self.trials += 1;
        let right = reference == self.reference_playing;
        self.correct += right as u32;
        Some(right)
    }

    /// The side that played, once guessed.
    pub fn revealed(&self) -> Option<bool> {
        self.guessed.then_some(self.reference_playing)
    }

    /// Probability of at least `correct` right out of `trials` by guessing (p = 1/2).
    pub fn chance_probability(&self) -> f64 {
        let n = self.trials;
        let choose = |n: u32, k: u32| -> f64 {
            (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
        };
        (self.correct..=n).map(|k| choose(n, k)).sum::<f64>() / 2f64.powi(n as i32)
    }

    pub fn reset_score(&mut self) {
        self.trials = 0;
        self.correct = 0;
        self.guessed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_are_scored_once_per_shuffle() {
        let mut t = BlindTest::new(42);
        assert_eq!(t.guess(true), None);
        let side = t.shuffle();
        assert_eq!(t.guess(side), Some(true));
        assert_eq!(t.guess(side), None);
        let side = t.shuffle();
        assert_eq!(t.guess(!side), Some(false));
        assert_eq!((t.correct, t.trials), (1, 2));
        assert_eq!(t.revealed(), Some(side));
    }

    #[test]
    fn the_sides_are_balanced_and_the_chance_figure_is_the_binomial_tail() {
        let mut t = BlindTest::new(7);
        let refs = (0..10_000).filter(|_| t.shuffle()).count();
        assert!((4_800..5_200).contains(&refs), "{refs}");
        // 4 of 5 right: P(X >= 4 | n = 5, p = 1/2) = (5 + 1) / 32.
        let mut t = BlindTest::new(1);
        t.trials = 5;
        t.correct = 4;
        assert!((t.chance_probability() - 6.0 / 32.0).abs() < 1e-12);
        // 10 of 10: 1/1024.
        t.trials = 10;
        t.correct = 10;
        assert!((t.chance_probability() - 1.0 / 1024.0).abs() < 1e-12);
    }
}
