import { encodeCommand } from '../../src/redis/bulk-command';

describe('encodeCommand', () => {
  it('writes RESP bulk strings with their lengths for ASCII arguments', () => {
    expect(encodeCommand('mget', ['a', 'bc', 7])).toBe('*4\r\n$4\r\nmget\r\n$1\r\na\r\n$2\r\nbc\r\n$1\r\n7\r\n');
  });

  it('counts the UTF-8 bytes of an argument that is not ASCII, not its UTF-16 length', () => {
    // 'é' is 2 bytes, '✓' 3, '𝟙' (a surrogate pair) 4, a lone surrogate 3 (as U+FFFD).
    expect(encodeCommand('get', ['é✓𝟙', 'x\ud800'])).toBe('*3\r\n$3\r\nget\r\n$9\r\né✓𝟙\r\n$4\r\nx\ud800\r\n');
    expect(encodeCommand('get', [''])).toBe('*2\r\n$3\r\nget\r\n$0\r\n\r\n');
  });
});
