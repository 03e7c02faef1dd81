"""Text analytics for comments in Chinese and English, offline: cleaning, language, sentiment, keywords, themes, intents."""
