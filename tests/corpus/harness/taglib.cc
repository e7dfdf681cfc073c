/* SPDX-License-Identifier: MIT */
/* Harness for taglib (libtag.so from the Debian source tree); modes:
 *   invalid-chunk  CVE-2023-47466: a WAV whose only valid chunk is "id3 "
 *                  (then bytes that are no chunk), opened with
 *                  RIFF::WAV::File, its ID3v2 title set and saved: removing
 *                  the old "id3 " chunk empties the chunk list, and
 *                  updateGlobalSize() takes front()/back() of the empty
 *                  vector (unpatched: a crash; patched: saved, no tag left)
 * Load: in-memory WAV (fmt + data + ID3v2) and MP3 (ID3v2 + MPEG frames)
 * files, read back with their known tags and audio properties; the WAV's
 * title is rewritten and saved each time (RIFF::File::updateGlobalSize on a
 * valid chunk list), then checked in a fresh parse.
 * All files are TagLib::ByteVectorStreams: no file on disk. */
#include <id3v2framefactory.h> /* from the source tree (-I) */
#include <id3v2tag.h>
#include <mpegfile.h>
#include <tbytevectorstream.h>
#include <wavfile.h>

#include "harness.h"

using namespace TagLib;

static ByteVector le32(unsigned v) { return ByteVector::fromUInt(v, false); }
static ByteVector le16(unsigned short v) { return ByteVector::fromShort((short)v, false); }

static void repro(const char *mode)
{
	if (strcmp(mode, "invalid-chunk")) {
		printf("unknown mode %s\n", mode);
		return;
	}
	/* 40 bytes: RIFF header, an "id3 " chunk holding an empty ID3v2.4
	 * header, then 10 bytes that are not a valid chunk name */
	ByteVector id3("ID3\x04\0\0\0\0\0\0", 10);
	ByteVector wav("RIFF");
	wav.append(le32(32));
	wav.append("WAVE");
	wav.append("id3 ");
	wav.append(le32(id3.size()));
	wav.append(id3);
	wav.append(ByteVector(10, '\x01'));
	ByteVectorStream s(wav);
	{
		RIFF::WAV::File f(&s);
		if (!f.isValid() || !f.hasID3v2Tag()) {
			printf("not read as a WAV with an ID3v2 tag\n");
			return;
		}
		f.ID3v2Tag()->setTitle("Title");
		f.save();
	}
	ByteVectorStream again(*s.data());
	RIFF::WAV::File g(&again);
	printf("saved, %s\n", g.hasID3v2Tag() ? "ID3v2 tag still there" : "no ID3v2 tag left");
}

/* The load's files, made once: a 1-second 8 kHz mono 8-bit WAV tagged
 * through taglib (before any payload), and an MP3 of 20 silent MPEG-1
 * layer III frames (128 kbit/s, 44.1 kHz) behind an ID3v2 tag. */
static const ByteVector *good_wav, *good_mp3; /* never freed: load threads outlive main */
static pthread_once_t made = PTHREAD_ONCE_INIT;

static void make_files(void)
{
	ByteVector fmt;
	fmt.append(le16(1));	/* PCM */
	fmt.append(le16(1));	/* channels */
	fmt.append(le32(8000)); /* sample rate */
	fmt.append(le32(8000)); /* bytes per second */
	fmt.append(le16(1));	/* block align */
	fmt.append(le16(8));	/* bits per sample */
	ByteVector w("RIFF");
	w.append(le32(4 + 8 + fmt.size() + 8 + 8000));
	w.append("WAVE");
	w.append("fmt ");
	w.append(le32(fmt.size()));
	w.append(fmt);
	w.append("data");
	w.append(le32(8000));
	w.append(ByteVector(8000, '\x80'));
	ByteVectorStream ws(w);
	{
		RIFF::WAV::File f(&ws);
		f.ID3v2Tag()->setTitle("wav title");
		f.ID3v2Tag()->setArtist("xsplice");
		f.save();
	}
	good_wav = new ByteVector(*ws.data());

	ByteVector frames;
	for (int i = 0; i < 20; i++) {
		ByteVector fr(417, '\0');
		fr[0] = '\xff', fr[1] = '\xfb', fr[2] = '\x90', fr[3] = '\x64';
		frames.append(fr);
	}
	ByteVectorStream ms(frames);
	{
		MPEG::File f(&ms, ID3v2::FrameFactory::instance());
		f.ID3v2Tag(true)->setTitle("mp3 title");
		f.ID3v2Tag(true)->setAlbum("corpus");
		f.save(MPEG::File::ID3v2);
	}
	good_mp3 = new ByteVector(*ms.data());
}

static bool load_once(void)
{
	static thread_local unsigned long n;
	pthread_once(&made, make_files);
	ByteVectorStream ws(*good_wav);
	{
		RIFF::WAV::File f(&ws);
		if (!f.isValid() || !f.audioProperties() || f.audioProperties()->sampleRate() != 8000 ||
		    f.audioProperties()->channels() != 1 || f.tag()->title() != "wav title" ||
		    f.tag()->artist() != "xsplice")
			return false;
		f.ID3v2Tag()->setTitle(String::number((int)(++n % 100000)));
		if (!f.save())
			return false;
	}
	const ByteVector *saved = ws.data();
	/* the RIFF size field that updateGlobalSize() rewrote */
	if (saved->mid(4, 4).toUInt(false) != saved->size() - 8)
		return false;
	ByteVectorStream ws2(*saved);
	RIFF::WAV::File g(&ws2);
	if (!g.isValid() || g.tag()->title() != String::number((int)(n % 100000)) ||
	    g.tag()->artist() != "xsplice" || g.audioProperties()->sampleRate() != 8000)
		return false;

	ByteVectorStream ms(*good_mp3);
	MPEG::File m(&ms, ID3v2::FrameFactory::instance());
	return m.isValid() && m.tag()->title() == "mp3 title" && m.tag()->album() == "corpus" &&
	       m.audioProperties() && m.audioProperties()->sampleRate() == 44100 &&
	       m.audioProperties()->bitrate() == 128;
}
