import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.analysis.ar.ArabicNormalizationFilter;
import org.apache.lucene.analysis.ar.ArabicStemFilter;
import org.apache.lucene.analysis.core.DecimalDigitFilter;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.util.Version;

/**
 * Real Lucene's Arabic analysis as a filter: one input per line on stdin (UTF-8), one line out.
 *
 * <p>Output line: the terms of {@code ArabicAnalyzer} (StandardTokenizer and its whole chain),
 * a TAB, then the terms of the same filter chain over the line kept as ONE token
 * (KeywordTokenizer → LowerCase → DecimalDigit → Stop(default set) → ArabicNormalization →
 * ArabicStem), which separates the filters from the tokenizer. Terms are joined by a space.
 * The first output line is {@code #lucene <version>}. Used by bench/lucene_reference.py.
 */
public final class LuceneAnalyze {
  private static List<String> terms(Analyzer analyzer, String text) throws IOException {
    List<String> out = new ArrayList<>();
    try (TokenStream ts = analyzer.tokenStream("f", text)) {
      CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
      ts.reset();
      while (ts.incrementToken()) {
        out.add(term.toString());
      }
      ts.end();
    }
    return out;
  }

  public static void main(String[] args) throws IOException {
    Analyzer full = new ArabicAnalyzer();
    Analyzer chain =
        new Analyzer() {
          @Override
          protected TokenStreamComponents createComponents(String field) {
            Tokenizer source = new KeywordTokenizer();
            TokenStream result = new LowerCaseFilter(source);
            result = new DecimalDigitFilter(result);
            result = new StopFilter(result, ArabicAnalyzer.getDefaultStopSet());
            result = new ArabicNormalizationFilter(result);
            result = new ArabicStemFilter(result);
            return new TokenStreamComponents(source, result);
          }
        };
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    out.println("#lucene " + Version.LATEST);
    String line;
    while ((line = in.readLine()) != null) {
      out.print(String.join(" ", terms(full, line)));
      out.print('\t');
      out.println(String.join(" ", terms(chain, line)));
    }
    out.flush();
  }
}
